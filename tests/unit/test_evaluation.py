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

"""The evaluation: which hosts it reads the instances of, and derivations."""

from nova import objects

from nova_livemig_ext import evaluation
from tests.unit import base


def named(name):
    return type(name, (), {})()


class NeedsInstancesTest(base.TestCase):

    def chain(self, *names):
        return base.mock.Mock(filters=[named(n) for n in names],
                              weighers=[named('RAMWeigher')] + [
                                  named(n) for n in names])

    def test_default_chain_and_plain_server_read_none(self):
        spec = base.request_spec()
        self.assertFalse(evaluation._needs_instances(
            self.chain('ComputeFilter', 'ServerGroupSoftAffinityWeigher',
                       'ImagePropertiesWeigher'), spec))

    def test_same_host_hint_with_its_filter(self):
        spec = base.request_spec(hints={'same_host': [base.uuids.other]})
        self.assertTrue(evaluation._needs_instances(
            self.chain('SameHostFilter'), spec))
        self.assertFalse(evaluation._needs_instances(
            self.chain('ComputeFilter'), spec))

    def test_server_group_with_a_group_filter_or_weigher(self):
        spec = base.request_spec()
        spec.instance_group = objects.InstanceGroup(
            policy='anti-affinity', members=[], hosts=[])
        # nova's anti-affinity filter counts members among the instances.
        self.assertTrue(evaluation._needs_instances(
            self.chain('ServerGroupAntiAffinityFilter'), spec))
        spec.instance_group.policy = 'soft-anti-affinity'
        self.assertTrue(evaluation._needs_instances(
            self.chain('ServerGroupSoftAntiAffinityWeigher'), spec))
        self.assertFalse(evaluation._needs_instances(
            self.chain('ComputeFilter'), spec))

    def test_image_properties_weigher_only_when_weighing(self):
        spec = base.request_spec()
        self.flags(image_props_weight_multiplier=1.0,
                   group='filter_scheduler')
        self.assertTrue(evaluation._needs_instances(
            self.chain('ImagePropertiesWeigher'), spec))


class ChainTest(base.TestCase):

    def test_rebuilt_when_a_livemig_option_changes(self):
        first = evaluation._chain()
        self.assertIs(first, evaluation._chain())
        self.flags(ram_max_utilization=0.5)
        second = evaluation._chain()
        self.assertIsNot(first, second)
        self.assertEqual(0.5, second.config.settings.max_utilization[
            'MEMORY_MB'])


class DeriveTest(base.TestCase):
    """A pinned or limited variant of a judged request, from its answer."""

    def judgement(self, answer, nested=False):
        states = []
        for name, aggregates in (('host1', [base.AZ1]),
                                 ('host2', [base.AZ1]),
                                 ('host3', [base.AZ2])):
            hs = base.host_state(name, aggregates)
            allocations = {hs.uuid: {'resources': {'VCPU': 1}}}
            if nested:
                allocations[base.uuids.child] = {'resources': {'VGPU': 1}}
            hs.allocation_candidates = [{'allocations': allocations}]
            states.append(hs)
        reasons = {hs.host: [] for hs in states}
        reasons['host4'] = [evaluation.Reason('placement', 'full')]
        return {'src': evaluation.Judgement(None, states, reasons, {}, None,
                                            answer)}

    def derive(self, judged, *args, **kwargs):
        derived = evaluation.derive(judged, *args, **kwargs)
        return None if derived is None else derived['src']

    def test_pinned_keeps_the_zone_s_providers(self):
        judged = self.judgement(evaluation.PlacementAnswer(3, None, True))
        derived = self.derive(judged, 'az1', {base.uuids.host1})
        self.assertEqual(['host1'], [hs.host for hs in derived.eligible()])
        # host2 is in az1 for nova, not in placement's mirror of it.
        self.assertIn('not among placement', derived.reasons['host2'][0]
                      .message)
        self.assertIn('availability zone az1 and the host is in az2',
                      derived.reasons['host3'][0].message)
        self.assertEqual(['full'], [r.message
                                    for r in derived.reasons['host4']])
        # Its own reasons (the conductor's checks replace a host's list,
        # never add to it): the judgement's are untouched.
        derived.reasons['host1'] = derived.reasons['host1'] + ['conductor']
        self.assertEqual([], judged['src'].reasons['host1'])

    def test_no_zone_aggregate_restricts_nothing(self):
        judged = self.judgement(evaluation.PlacementAnswer(3, None, True))
        derived = self.derive(judged, 'nova', None)
        self.assertEqual(3, len(derived.eligible()))

    def test_only_from_a_complete_answer(self):
        # Placement may have had more than the limit of 3 it returned.
        judged = self.judgement(evaluation.PlacementAnswer(3, 3, True))
        self.assertIsNone(self.derive(judged, 'az1', set()))
        judged = self.judgement(evaluation.PlacementAnswer(3, None, False))
        self.assertIsNone(self.derive(judged, 'az1', set()))
        judged = self.judgement(evaluation.PlacementAnswer(3, 4, True))
        self.assertIsNotNone(self.derive(judged, 'az1', set()))

    def test_a_limit_placement_would_cut_at(self):
        judged = self.judgement(evaluation.PlacementAnswer(3, None, True))
        self.assertIsNone(self.derive(judged, limit=2))
        self.assertEqual(3, len(self.derive(judged, limit=3)
                                .eligible()))
        self.assertEqual(2, len(self.derive(
            judged, 'az1', {base.uuids.host1, base.uuids.host2},
            limit=2).eligible()))

    def test_not_with_nested_providers(self):
        judged = self.judgement(evaluation.PlacementAnswer(3, None, True),
                                nested=True)
        self.assertIsNone(self.derive(judged, 'az1', set()))
        # Without a zone, nested candidates do not matter.
        self.assertIsNotNone(self.derive(judged, limit=3))
