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

"""The weigher: spread, pack, preferred domains; neutral otherwise."""

from nova.scheduler import weights as nova_weights

from nova_livemig_ext.scheduler import weighers
from tests.unit import base


class WeigherTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.hosts = [
            base.host_state('empty', [base.AZ1, base.NFS_A]),
            base.host_state('half', [base.AZ1, base.NFS_A]),
            base.host_state('tight', [base.AZ1, base.NFS_A]),
            base.host_state('overfull', [base.AZ1, base.NFS_A]),
            base.host_state('unknown', [base.AZ1, base.NFS_A]),
            base.host_state('other', [base.AZ1, base.NFS_B]),
        ]
        self.reads = base.ReadModelFixture(
            self, migration=base.migration(),
            source_aggregates=[base.AZ1, base.NFS_A],
            provider_resources={
                base.uuids.empty: base.resources(),
                base.uuids.half: base.resources(memory=(7680, 3840)),
                # 0.9 x 7680 = 6912: 4800 + 2048 leaves 64 MB.
                base.uuids.tight: base.resources(memory=(7680, 4800)),
                base.uuids.overfull: base.resources(memory=(7680, 6000)),
                base.uuids.other: base.resources(memory=(7680, 1000)),
            })

    def ranking(self, spec=None, **options):
        self.flags(**options)
        weigher = weighers.VacantResourceWeigher()
        handler = nova_weights.HostWeightHandler()
        weighed = handler.get_weighed_objects(
            [weigher], self.hosts, spec or base.request_spec())
        return [w.obj.host for w in weighed]

    def test_spread(self):
        self.assertEqual(
            ['empty', 'other', 'half', 'tight', 'overfull', 'unknown'],
            self.ranking(weigher_strategy='spread'))

    def test_pack(self):
        self.assertEqual(
            ['tight', 'half', 'other', 'empty', 'overfull', 'unknown'],
            self.ranking(weigher_strategy='pack'))

    def test_preferred_domain_ranks_same_domain_first(self):
        self.assertEqual(
            ['empty', 'half', 'tight', 'overfull', 'unknown', 'other'],
            self.ranking(weigher_strategy='spread',
                         migration_domain_mode='preferred'))

    def test_other_requests_get_zero(self):
        self.flags(weigher_strategy='pack')
        weigher = weighers.VacantResourceWeigher()
        objs = [nova_weights.WeighedHost(hs, 0.0) for hs in self.hosts]
        self.assertEqual([0.0] * 6, weigher.weigh_objects(
            objs, base.request_spec(ignore_hosts=None)))
        self.reads.provider_resources.assert_not_called()

    def test_failure_gives_equal_weights(self):
        self.reads.provider_resources.side_effect = RuntimeError('boom')
        weigher = weighers.VacantResourceWeigher()
        objs = [nova_weights.WeighedHost(hs, 0.0) for hs in self.hosts]
        self.assertEqual([0.0] * 6,
                         weigher.weigh_objects(objs, base.request_spec()))

    def test_multiplier_and_aggregate_override(self):
        self.flags(weigher_multiplier=3.5)
        weigher = weighers.VacantResourceWeigher()
        self.assertEqual(3.5, weigher.weight_multiplier(self.hosts[0]))
        host = base.host_state('x', [base.aggregate(
            'agg', livemig_weigher_multiplier='-1')])
        self.assertEqual(-1.0, weigher.weight_multiplier(host))

    def test_pack_and_spread_weights(self):
        self.assertEqual(1.0, weighers.pack_weight(0.0))
        self.assertEqual(0.25, weighers.pack_weight(0.75))
        self.assertLess(weighers.pack_weight(-0.01), 0)
        self.assertEqual(0.75, weighers.spread_weight(0.75))
