# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Servers whose placement request is not plain VCPU, MEMORY_MB, DISK_GB.

Dedicated CPUs (``hw:cpu_policy=dedicated``) ask placement for PCPU; on
hosts that report their cores as VCPU nova's scheduler asks again with
VCPU (its fallback query) and claims that. Resources of nested providers
(a PCI device, here a custom class on a child provider as nova's
MediumFakeDriverWithNestedCustomResources reports it) are placement's to
fit. The filter judges what nova really claims on each host.
"""

from nova.virt import fake

from tests.functional import base

LAYOUT = {
    'host1': ('az1', 'nfs-a'),
    'host2': ('az1', 'nfs-a'),
    'host3': ('az2', 'nfs-a'),
}


class PinnedCpuFakeDriver(fake.MediumFakeDriver):
    """A host with ``[compute] cpu_dedicated_set``: 8 PCPU, no VCPU.

    nova's fake driver reports VCPU only; a libvirt host with every core in
    ``cpu_dedicated_set`` reports them as PCPU at allocation ratio 1.
    """

    def update_provider_tree(self, provider_tree, nodename,
                             allocations=None):
        super().update_provider_tree(provider_tree, nodename, allocations)
        inventory = provider_tree.data(nodename).inventory
        inventory.pop('VCPU')
        inventory['PCPU'] = {'total': 8, 'min_unit': 1, 'max_unit': 8,
                             'step_size': 1, 'allocation_ratio': 1.0,
                             'reserved': 0}
        provider_tree.update_inventory(nodename, inventory)


class DedicatedCpusBase(base.LiveMigrationTestBase):

    def setUp(self):
        # nova loads compute drivers from nova.virt only.
        self.useFixture(base.fixtures.MonkeyPatch(
            'nova.virt.fake.PinnedCpuFakeDriver', PinnedCpuFakeDriver))
        super().setUp()
        self.start_hosts(LAYOUT)
        self.pinned = self._create_flavor(
            name='pinned', vcpu=2, memory_mb=1024, disk=10,
            extra_spec={'hw:cpu_policy': 'dedicated'})

    def claimed(self, server, rc):
        """What placement holds for the server on its host, of ``rc``."""
        rp_uuid = self._get_provider_uuid_by_host(self.host_of(server))
        allocations = self._get_allocations_by_server_uuid(server['id'])
        return allocations[rp_uuid]['resources'].get(rc, 0)


class DedicatedCpusOnVcpuHostsTest(DedicatedCpusBase):
    """Hosts without cpu_dedicated_set: nova places pinned servers as VCPU.

    MediumFakeDriver hosts have 10 cores at nova's initial VCPU allocation
    ratio of 4: a capacity of 40 VCPU. At a cap of 0.1, 4 may be in use.
    """

    livemig_options = {'vcpu_max_utilization': 0.1}

    def test_scheduler_chooses_a_destination(self):
        server = self.boot(self.pinned, 'host1')
        self.assertEqual(2, self.claimed(server, 'VCPU'))
        server = self.live_migrate(server)
        # host3 is in another zone.
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(2, self.claimed(server, 'VCPU'))

    def test_the_vcpu_cap_bites(self):
        # 3 VCPU in use on host2: 3 + 2 > 0.1 x 40, which placement
        # (40 VCPU) would accept.
        self.boot(self._flavor('three', vcpu=3, memory_mb=512, disk=1),
                  'host2')
        server = self.boot(self.pinned, 'host1')
        self.live_migrate_fails(server)
        self.assertIn('host2: VCPU: requested 2, allowed after the move 1 '
                      'of capacity 40 at 0.1 (used 3)', self.log_output())


class DedicatedCpusWithoutFallbackTest(DedicatedCpusBase):
    """Without nova's fallback query, VCPU hosts cannot take pinned servers.

    Nova itself then finds no host (placement has no PCPU): the server
    cannot even boot. The filter is not the one refusing.
    """

    def setUp(self):
        self.flags(disable_fallback_pcpu_query=True, group='workarounds')
        super().setUp()

    def test_nova_finds_no_host_itself(self):
        server = self._create_server(flavor_id=self.pinned,
                                     networks='none', host='host1',
                                     expected_state='ERROR')
        self.assertEqual('ERROR', server['status'])
        self.assertNotIn('LiveMigrationDestinationFilter', self.log_output())


class DedicatedCpusOnPcpuHostsTest(DedicatedCpusBase):
    """Hosts with cpu_dedicated_set report 8 PCPU; the PCPU cap applies."""

    compute_driver = 'fake.PinnedCpuFakeDriver'
    livemig_options = {'pcpu_max_utilization': 0.5}

    def test_scheduler_chooses_a_destination(self):
        server = self.boot(self.pinned, 'host1')
        self.assertEqual(2, self.claimed(server, 'PCPU'))
        self.assertEqual(0, self.claimed(server, 'VCPU'))
        server = self.live_migrate(server)
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(2, self.claimed(server, 'PCPU'))

    def test_the_pcpu_cap_bites(self):
        # 3 PCPU in use on host2: 3 + 2 > 0.5 x 8, which placement (8 PCPU)
        # would accept.
        self.boot(self._create_flavor(
            name='pinned3', vcpu=3, memory_mb=512, disk=1,
            extra_spec={'hw:cpu_policy': 'dedicated'}), 'host2')
        server = self.boot(self.pinned, 'host1')
        self.live_migrate_fails(server)
        self.assertIn('host2: PCPU: requested 2, allowed after the move 1 '
                      'of capacity 8 at 0.5 (used 3)', self.log_output())


class NestedResourcesTest(base.LiveMigrationTestBase):
    """A server that also takes a device from a nested provider.

    Each host has a child provider with 10 CUSTOM_MAGIC (nova's
    MediumFakeDriverWithNestedCustomResources), as PCI devices tracked in
    placement are.
    """

    compute_driver = 'fake.MediumFakeDriverWithNestedCustomResources'
    livemig_options = {'ram_max_utilization': 0.5}

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)
        self.device = self._create_flavor(
            name='device', vcpu=1, memory_mb=2048, disk=10,
            extra_spec={'resources1:CUSTOM_MAGIC': 1})

    def test_scheduler_chooses_a_destination(self):
        server = self.boot(self.device, 'host1')
        server = self.live_migrate(server)
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])
        allocations = self._get_allocations_by_server_uuid(server['id'])
        self.assertEqual(
            [{'CUSTOM_MAGIC': 1}],
            [a['resources'] for a in allocations.values()
             if 'CUSTOM_MAGIC' in a['resources']])

    def test_the_memory_cap_bites(self):
        # 2048 in use on host2: 2048 + 2048 > 0.5 x 7680 = 3840.
        self.boot(self.device, 'host2')
        server = self.boot(self.device, 'host1')
        self.live_migrate_fails(server)
        self.assertIn('host2: MEMORY_MB: requested 2048, allowed after the '
                      'move 1792 of capacity 7680 at 0.5 (used 2048)',
                      self.log_output())
