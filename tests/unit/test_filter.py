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

"""The filter adapter: which requests it judges, and how it fails."""

from nova_livemig_ext.scheduler import filters
from nova_livemig_ext import usage
from tests.unit import base


class FilterTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.filter = filters.LiveMigrationDestinationFilter()
        self.hosts = [
            base.host_state('near', [base.AZ1, base.NFS_A]),
            base.host_state('full', [base.AZ1, base.NFS_A]),
            base.host_state('far', [base.AZ2, base.NFS_A]),
            base.host_state('other', [base.AZ1, base.NFS_B]),
        ]

    def read_model(self, kind='live-migration', **kw):
        resources = {
            base.uuids.near: base.resources(),
            base.uuids.full: base.resources(memory=(7680, 6000)),
            base.uuids.far: base.resources(),
            base.uuids.other: base.resources(),
        }
        return base.ReadModelFixture(
            self, migration=kind and base.migration(kind),
            source_aggregates=[base.AZ1, base.NFS_A],
            provider_resources=resources,
            **kw)

    def passed(self, spec):
        return [hs.host for hs in self.filter.filter_all(self.hosts, spec)]

    def test_live_migration_is_judged(self):
        reads = self.read_model()
        self.assertEqual(['near'], self.passed(base.request_spec()))
        reads.accepted_migration.assert_called_once()
        reads.host_aggregates.assert_called_once_with(base.mock.ANY, 'src')
        # Usage is read only for the hosts the zone and domain rules leave.
        ctxt, uuids = reads.provider_resources.call_args[0]
        self.assertEqual({base.uuids.near, base.uuids.full}, set(uuids))

    def test_demand_is_what_nova_would_claim_on_each_host(self):
        """Dedicated CPUs: PCPU asked, VCPU claimed where nova falls back.

        Nova hands each host its allocation candidates before the filters
        run; on a host that reports no PCPU its fallback query gives VCPU
        ones. The caps judge what nova would claim, and nested providers
        (a PCI device's) are not the filter's to judge.
        """
        self.read_model()
        near = self.hosts[0]
        # 40 VCPU at a cap of 0.9 leave room for 36: 4 fit, 37 do not.
        near.allocation_candidates = [{
            'allocations': {
                near.uuid: {'resources': {'VCPU': 4, 'MEMORY_MB': 2048}},
                base.uuids.near_pci: {'resources': {'CUSTOM_PCI': 1}}},
            'mappings': {}}]
        spec = base.request_spec(vcpus=4)
        spec.flavor.extra_specs = {'hw:cpu_policy': 'dedicated'}
        self.assertEqual(['near'], self.passed(spec))
        near.allocation_candidates[0]['allocations'][near.uuid][
            'resources']['VCPU'] = 37
        logger = self.useFixture(base.fixtures.FakeLogger())
        self.assertEqual([], self.passed(spec))
        self.assertIn('near: VCPU: requested 37', logger.output)

    def test_pcpu_demand_is_capped_by_its_own_option(self):
        self.flags(pcpu_max_utilization=0.5)
        self.filter = filters.LiveMigrationDestinationFilter()
        resources = {base.uuids.near: {
            'PCPU': base.base.Resource(8, 2),
            'MEMORY_MB': base.base.Resource(7680, 0)}}
        self.read_model().provider_resources.return_value = resources
        near = self.hosts[0]
        near.allocation_candidates = [{'allocations': {near.uuid: {
            'resources': {'PCPU': 2, 'MEMORY_MB': 512}}}, 'mappings': {}}]
        spec = base.request_spec(vcpus=2, memory_mb=512)
        spec.flavor.extra_specs = {'hw:cpu_policy': 'dedicated'}
        # 2 used + 2 = 4 <= 0.5 x 8; 3 more would be 5 > 4.
        self.assertEqual(['near'], self.passed(spec))
        near.allocation_candidates[0]['allocations'][near.uuid][
            'resources']['PCPU'] = 3
        logger = self.useFixture(base.fixtures.FakeLogger())
        self.assertEqual([], self.passed(spec))
        self.assertIn('PCPU: requested 3, allowed after the move 2 of '
                      'capacity 8 at 0.5 (used 2)', logger.output)

    def test_boot_is_not_judged_and_reads_nothing(self):
        reads = self.read_model()
        for spec in (base.request_spec(ignore_hosts=None),
                     base.request_spec(ignore_hosts=[]),
                     base.request_spec(cell=False)):
            self.assertEqual(4, len(self.passed(spec)))
        reads.accepted_migration.assert_not_called()
        reads.provider_resources.assert_not_called()

    def test_rebuild_is_not_judged(self):
        reads = self.read_model()
        spec = base.request_spec(hints={'_nova_check_type': ['rebuild']})
        self.assertEqual(4, len(self.passed(spec)))
        reads.accepted_migration.assert_not_called()

    def test_cold_migration_is_not_judged(self):
        # No accepted migration: the conductor's cold migration record is
        # 'pre-migrating'.
        reads = self.read_model(kind=None)
        self.assertEqual(4, len(self.passed(base.request_spec())))
        reads.provider_resources.assert_not_called()

    def test_evacuation_only_when_configured(self):
        self.read_model(kind='evacuation')
        self.assertEqual(4, len(self.passed(base.request_spec())))
        self.flags(apply_to=['live-migration', 'evacuation'])
        self.filter = filters.LiveMigrationDestinationFilter()
        self.assertEqual(['near'], self.passed(base.request_spec()))

    def test_volume_backed_without_local_disk_ignores_domain(self):
        self.read_model()
        spec = base.request_spec(is_bfv=True, root_gb=10)
        self.assertEqual(['near', 'other'], self.passed(spec))
        # Swap on a volume-backed server is local disk: bound again.
        spec = base.request_spec(is_bfv=True, swap=512)
        self.assertEqual(['near'], self.passed(spec))

    def test_usage_is_not_read_without_vacant_resources(self):
        self.flags(constraints=['availability_zone'])
        self.filter = filters.LiveMigrationDestinationFilter()
        reads = self.read_model()
        self.assertEqual(['near', 'full', 'other'],
                         self.passed(base.request_spec()))
        reads.provider_resources.assert_not_called()

    def test_summary_logged_once_when_all_rejected(self):
        self.read_model()
        self.hosts = self.hosts[1:]
        logger = self.useFixture(base.fixtures.FakeLogger())
        self.assertEqual([], self.passed(base.request_spec()))
        lines = logger.output.splitlines()
        self.assertEqual(1, len(lines), lines)
        self.assertEqual(
            'No destination for live-migration of server %s from src: 3 of '
            '3 hosts rejected; rejections by rule: availability_zone '
            'rejected 1 (e.g. far: the '
            'host is in availability zone az2, the source host src is in '
            'az1); migration_domain rejected 1 (e.g. other: the host is in '
            'migration domain nfs-b, the source host src is in nfs-a); '
            'vacant_resources rejected 1 (e.g. full: MEMORY_MB: requested '
            '2048, allowed after the move 912 of capacity 7680 at 0.9 (used '
            '6000))' % base.uuids.server, lines[0])

    def test_read_failure_rejects_every_host_and_does_not_raise(self):
        reads = self.read_model()
        reads.provider_resources.side_effect = usage.UsageUnavailable(
            'placement cannot be reached: boom')
        logger = self.useFixture(base.fixtures.FakeLogger())
        self.assertEqual([], self.passed(base.request_spec()))
        self.assertIn('could not judge the request for server %s; '
                      'rejecting all 4 hosts' % base.uuids.server,
                      logger.output)
        self.assertIn('placement cannot be reached: boom', logger.output)

    def test_db_failure_rejects_every_host(self):
        reads = self.read_model()
        reads.accepted_migration.side_effect = RuntimeError('db gone')
        self.assertEqual([], self.passed(base.request_spec()))

    def test_error_on_one_host_rejects_only_that_host(self):
        self.read_model()
        engine = self.filter._config.engine
        real_check = engine.check

        def check(move, view, **kw):
            if view.name == 'far':
                raise ZeroDivisionError('bad data')
            return real_check(move, view, **kw)

        self.useFixture(base.fixtures.MockPatchObject(
            engine, 'check', side_effect=check))
        logger = self.useFixture(base.fixtures.FakeLogger())
        self.assertEqual(['near'], self.passed(base.request_spec()))
        self.assertIn('failed to judge 1 hosts', logger.output)

    def test_host_missing_from_placement_is_rejected(self):
        reads = self.read_model()
        reads.provider_resources.return_value = {}
        logger = self.useFixture(base.fixtures.FakeLogger())
        self.assertEqual([], self.passed(base.request_spec()))
        self.assertIn("placement's usage read (allocation candidates for "
                      "MEMORY_MB:1) did not list this host's compute node "
                      "provider", logger.output)

    def test_usage_read_restricted_to_the_common_aggregates(self):
        """Placement is asked for the source zone's and domain's hosts.

        A host the restricted read leaves out (its aggregate missing from
        placement) is read again without the restriction, not refused.
        """
        az1 = base.aggregate('az1', availability_zone='az1')
        nfs_a = base.aggregate('nfs-a', livemig_domain='nfs-a')
        az1.uuid, nfs_a.uuid = base.uuids.az1, base.uuids.nfs_a
        for hs in self.hosts[:2]:
            hs.aggregates = [az1, nfs_a]
        reads = self.read_model()
        near_only = {base.uuids.near: base.resources()}
        full = {base.uuids.full: base.resources(memory=(7680, 6000))}
        reads.provider_resources.return_value = None
        reads.provider_resources.side_effect = [near_only, full]
        logger = self.useFixture(base.fixtures.FakeLogger(level=10))
        self.assertEqual(['near'], self.passed(base.request_spec()))
        first, second = reads.provider_resources.call_args_list
        self.assertEqual({base.uuids.near, base.uuids.full}, first[0][1])
        self.assertEqual(tuple(sorted([base.uuids.az1, base.uuids.nfs_a])),
                         first[1]['member_of'])
        self.assertEqual(({base.uuids.full},), second[0][1:])
        self.assertEqual({}, second[1])
        self.assertIn('Placement lists 1 of the hosts of aggregates',
                      logger.output)
        # full was judged on its usage, not refused for lack of it.
        self.assertIn('full: MEMORY_MB: requested 2048', logger.output)

    def test_no_state_kept_between_requests(self):
        self.read_model()
        before = dict(vars(self.filter))
        self.passed(base.request_spec())
        self.passed(base.request_spec(memory_mb=512))
        self.assertEqual(before, vars(self.filter))

    def test_weigher_reuses_the_filter_reads(self):
        from nova_livemig_ext.scheduler import weighers
        reads = self.read_model()
        spec = base.request_spec()
        self.passed(spec)
        weigher = weighers.VacantResourceWeigher()
        weigher.weigh_objects([base.mock.Mock(obj=hs)
                               for hs in self.hosts[:1]], spec)
        self.assertEqual(1, reads.accepted_migration.call_count)
        self.assertEqual(1, reads.provider_resources.call_count)
