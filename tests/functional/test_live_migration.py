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

"""The filter and weigher on Nova's real scheduler, in-process.

Each test class starts its own cloud: placement (fixture), nova-api,
conductor, scheduler with the plugin enabled through configuration, and
fake-driver computes grouped by availability zone and migration domain.
MediumFakeDriver hosts offer 7680 MB of RAM to placement (8192 minus
nova's 512 MB reservation); flavors: small 1024 MB, medium 2048 MB, large
3072 MB.
"""

from tests.functional import base

# Four computes in two zones and two migration domains.
LAYOUT = {
    'host1': ('az1', 'nfs-a'),
    'host2': ('az1', 'nfs-a'),
    'host3': ('az1', 'nfs-b'),
    'host4': ('az2', 'nfs-a'),
}

# Three candidates of one zone and domain, and one elsewhere.
THREE_IN_ONE_DOMAIN = {
    'host1': ('az1', 'nfs-a'),
    'host2': ('az1', 'nfs-a'),
    'host3': ('az1', 'nfs-a'),
    'host4': ('az2', 'nfs-b'),
}


class AvailabilityZoneTest(base.LiveMigrationTestBase):
    """Servers booted without a zone stay in their source host's zone."""

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)
        # host2 and host3 are busier than host4: by room alone (nova's
        # RAMWeigher, our spread strategy) the other zone wins.
        self.boot(self.large, 'host2')
        self.boot(self.large, 'host3')
        self.server = self.boot(self.medium, 'host1')

    def test_server_without_az_stays_in_source_az(self):
        server = self.live_migrate(self.server)
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('az1', server['OS-EXT-AZ:availability_zone'])

    def test_named_host_in_other_az_is_refused(self):
        # Microversion 'latest' (>= 2.68): a named host is not forced, the
        # scheduler and so the filter check it.
        self.live_migrate_fails(self.server, host='host4')
        self.assertIn('availability_zone', self.log_output())
        self.assertIn('the host is in availability zone az2, the source '
                      'host host1 is in az1', self.log_output())

    def test_named_host_that_passes_is_used(self):
        server = self.live_migrate(self.server, host='host2')
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])


class AvailabilityZoneWithoutPluginTest(AvailabilityZoneTest):
    """Control: nova alone moves a server booted without a zone anywhere."""

    enable_filter = False
    enable_weigher = False

    def test_server_without_az_stays_in_source_az(self):
        server = self.live_migrate(self.server)
        self.assertEqual('host4', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('az2', server['OS-EXT-AZ:availability_zone'])

    def test_named_host_in_other_az_is_refused(self):
        server = self.live_migrate(self.server, host='host4')
        self.assertEqual('host4', server['OS-EXT-SRV-ATTR:host'])


class MigrationDomainTest(base.LiveMigrationTestBase):
    """Servers stay in their source host's migration domain."""

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)
        # host3 (nfs-b) has the most room in az1, host2 (nfs-a) less.
        self.boot(self.large, 'host2')

    def test_domain_is_respected(self):
        server = self.live_migrate(self.boot(self.medium, 'host1'))
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])

    def test_volume_backed_server_may_cross_domains(self):
        server = self.boot(self.no_local_disk, 'host1', volume_backed=True)
        server = self.live_migrate(server)
        self.assertEqual('host3', server['OS-EXT-SRV-ATTR:host'])

    def test_domain_without_room_is_no_valid_host(self):
        # Fill host2 beyond the 0.9 cap for a medium server, though not
        # beyond what placement accepts:
        # 6912 = 0.9 x 7680 < 3072 + 2048 + 2048 = 7168 <= 7680.
        self.boot(self.medium, 'host2')
        server = self.boot(self.medium, 'host1')
        self.live_migrate_fails(server)
        output = self.log_output()
        self.assertIn('No destination for live-migration of server %s from '
                      'host1' % server['id'], output)
        self.assertIn('migration_domain rejected 1 (e.g. host3: the host is '
                      'in migration domain nfs-b, the source host host1 is '
                      'in nfs-a)', output)
        self.assertIn('vacant_resources rejected 1 (e.g. host2: MEMORY_MB: '
                      'requested 2048, allowed after the move 1792 of '
                      'capacity 7680 at 0.9 (used 5120))', output)
        self.assertIn('availability_zone rejected 1', output)


class PreferredDomainTest(base.LiveMigrationTestBase):
    """In preferred mode the domain ranks hosts instead of excluding them."""

    livemig_options = {'migration_domain_mode': 'preferred'}

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)
        self.boot(self.large, 'host2')
        self.server = self.boot(self.medium, 'host1')

    def test_same_domain_host_wins_when_it_fits(self):
        # host3 has more headroom, but host2 shares nfs-a with host1.
        server = self.live_migrate(self.server)
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])

    def test_other_domain_is_used_when_none_fits(self):
        # 3072 + 2048 used, + 2048 passes 0.9 x 7680 (placement would fit).
        self.boot(self.medium, 'host2')
        server = self.live_migrate(self.server)
        self.assertEqual('host3', server['OS-EXT-SRV-ATTR:host'])


class HeadroomTest(base.LiveMigrationTestBase):
    """Hosts that would pass their cap are skipped."""

    # Nova's own weighers only, so that the emptier host2 would win.
    enable_weigher = False

    def setUp(self):
        super().setUp()
        self.start_hosts(THREE_IN_ONE_DOMAIN)
        self.boot(self.small, 'host2')
        self.boot(self.large, 'host3')
        self.server = self.boot(self.medium, 'host1')

    def test_aggregate_cap_skips_host(self):
        # host2 has the most free RAM (6656 MB) but its aggregate allows
        # 0.3 x 7680 = 2304 MB in use: 1024 + 2048 does not fit.
        self._add_to_aggregate('tight', 'host2', metadata={
            'livemig_ram_max_utilization': '0.3'})
        server = self.live_migrate(self.server)
        self.assertEqual('host3', server['OS-EXT-SRV-ATTR:host'])

    def test_without_cap_the_emptier_host_wins(self):
        # Control for the test above: same cloud, no aggregate cap.
        server = self.live_migrate(self.server)
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])

    def test_lowest_aggregate_cap_wins(self):
        self._add_to_aggregate('loose', 'host2', metadata={
            'livemig_ram_max_utilization': '1.0'})
        self._add_to_aggregate('tight', 'host2', metadata={
            'livemig_ram_max_utilization': '0.3'})
        server = self.live_migrate(self.server)
        self.assertEqual('host3', server['OS-EXT-SRV-ATTR:host'])


class NoHostFitsTest(base.LiveMigrationTestBase):
    """When no host fits, the migration fails and the server stays."""

    livemig_options = {'ram_max_utilization': 0.5}

    def test_no_host_fits(self):
        self.start_hosts(LAYOUT)
        self.boot(self.large, 'host2')
        server = self.boot(self.medium, 'host1')
        source_usage = self.provider_usage('host1')
        self.live_migrate_fails(server)
        self.assertEqual('ACTIVE', self.admin_api.get_server(
            server['id'])['status'])
        # Nothing was left claimed anywhere.
        self.assertEqual(source_usage, self.provider_usage('host1'))
        self.assertEqual(3072, self.provider_usage('host2')['MEMORY_MB'])
        output = self.log_output()
        self.assertIn('No destination for live-migration of server %s from '
                      'host1: 3 of 3 hosts rejected' % server['id'], output)
        self.assertIn('MEMORY_MB: requested 2048, allowed after the move 768 '
                      'of capacity 7680 at 0.5 (used 3072)', output)
        # One summary per request, not one line per host.
        self.assertEqual(1, output.count('No destination for live-migration'))


class BackToBackTest(base.LiveMigrationTestBase):
    """Usage is read fresh from placement, not from lagging HostState."""

    livemig_options = {'ram_max_utilization': 0.5}

    def test_second_migration_does_not_land_on_full_host(self):
        self.start_hosts({'host1': ('az1', 'nfs-a'),
                          'host2': ('az1', 'nfs-a'),
                          'host3': ('az2', 'nfs-a')})
        first = self.boot(self.medium, 'host1')
        second = self.boot(self.medium, 'host1')
        # host2 may hold 0.5 x 7680 = 3840 MB: room for one medium server.
        first = self.live_migrate(first)
        self.assertEqual('host2', first['OS-EXT-SRV-ATTR:host'])
        # No periodic update ran: nova's own host view of host2 is stale.
        self.live_migrate_fails(second)
        self.assertEqual(2048, self.provider_usage('host2')['MEMORY_MB'])


class OtherRequestsTest(base.LiveMigrationTestBase):
    """Boots and cold migrations are not judged, whatever the caps."""

    # 0.05 x 7680 = 384 MB: no live migration of any flavor fits anywhere.
    livemig_options = {'ram_max_utilization': 0.05}

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)

    def test_boot_and_cold_migration_are_unaffected(self):
        server = self.boot(self.medium, 'host1')
        server = self._create_server(flavor_id=self.medium, networks='none')
        self.live_migrate_fails(server)
        self.api.post_server_action(server['id'], {'migrate': None})
        server = self._wait_for_state_change(server, 'VERIFY_RESIZE')
        self._confirm_resize(server)
        self.assertNotIn('No destination for migration', self.log_output())


class StrategySpreadTest(base.LiveMigrationTestBase):
    """spread: the most headroom after the move first."""

    livemig_options = {'weigher_strategy': 'spread'}
    expected = 'host3'

    def test_strategy_chooses(self):
        self.start_hosts(THREE_IN_ONE_DOMAIN)
        self.boot(self.large, 'host2')
        self.boot(self.small, 'host3')
        server = self.live_migrate(self.boot(self.medium, 'host1'))
        self.assertEqual(self.expected, server['OS-EXT-SRV-ATTR:host'])


class StrategyPackTest(StrategySpreadTest):
    """pack: the least headroom that still fits first (host2 here)."""

    livemig_options = {'weigher_strategy': 'pack'}
    expected = 'host2'


class EvacuationTest(base.LiveMigrationTestBase):
    """With apply_to including evacuation, evacuations are judged too."""

    livemig_options = {'apply_to': ['live-migration', 'evacuation']}

    def test_evacuation_stays_in_zone_and_domain(self):
        self.start_hosts(LAYOUT)
        self.boot(self.large, 'host2')
        server = self.boot(self.medium, 'host1')
        self.computes['host1'].stop()
        service = self.admin_api.get_services(
            host='host1', binary='nova-compute')[0]
        self.admin_api.put_service_force_down(service['id'], True)
        # host4 (other zone) and host3 (other domain) are emptier.
        server = self._evacuate_server(server, expected_host='host2')
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])
