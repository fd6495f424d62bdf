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

"""The evaluation reads each host's instances only when nova would."""

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
