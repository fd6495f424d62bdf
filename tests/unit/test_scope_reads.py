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

"""The scope reads' plain data: measurements, groups, request classes."""

import datetime
import time

from nova import objects
from nova import utils as nova_utils
from oslo_serialization import jsonutils
from oslo_utils import timeutils
import testtools

from nova_livemig_ext import scope_plans
from nova_livemig_ext.usage import scope

objects.register_all()


def node(metrics):
    return objects.ComputeNode(metrics=metrics)


def stamp(seconds_ago):
    return nova_utils.strtime(timeutils.utcnow() -
                              datetime.timedelta(seconds=seconds_ago))


class CpuMeasurementTest(testtools.TestCase):

    def test_nova_stores_a_fraction(self):
        # nova's MonitorMetric.to_dict divides percentages by 100.
        metrics = jsonutils.dumps([
            {'name': 'cpu.frequency', 'value': 2400, 'timestamp': stamp(1),
             'source': 'libvirt'},
            {'name': 'cpu.percent', 'value': 0.42, 'timestamp': stamp(30),
             'source': 'libvirt'}])
        now = time.time()
        percent, measured = scope.cpu_measurement(node(metrics), now, 600)
        self.assertAlmostEqual(42.0, percent)
        self.assertAlmostEqual(30, now - measured, delta=2)

    def test_too_old_is_none_with_its_time(self):
        metrics = jsonutils.dumps([{'name': 'cpu.percent', 'value': 0.5,
                                    'timestamp': stamp(700)}])
        percent, measured = scope.cpu_measurement(node(metrics), time.time(),
                                                  600)
        self.assertIsNone(percent)
        self.assertIsNotNone(measured)

    def test_nothing_or_garbage_is_none(self):
        for metrics in (None, '', '[]', 'not json',
                        jsonutils.dumps([{'name': 'cpu.percent',
                                          'value': 'x',
                                          'timestamp': stamp(1)}]),
                        jsonutils.dumps([{'name': 'cpu.percent',
                                          'value': 0.1}])):
            self.assertEqual((None, None), scope.cpu_measurement(
                node(metrics), time.time(), 600), metrics)


def server(uuid='s1', host='h1', group=None, policy=None, **data):
    spec = {'flavor': {'nova_object.data': {'flavorid': 'small',
                                            'memory_mb': 1024},
                       'nova_object.changes': ['memory_mb']},
            'image': {'nova_object.data': {'id': 'img'}},
            'availability_zone': None, 'project_id': 'p1'}
    if group:
        fields = {'uuid': group}
        if policy == 'legacy':
            fields['policies'] = ['anti-affinity']
        else:
            fields['policy'] = policy
        spec['instance_group'] = {'nova_object.data': fields}
    spec.update(data)
    return scope.ScopeServer(uuid, host, 'vm', 'active', None, 'p1', spec)


class ClassKeyTest(testtools.TestCase):

    def key(self, row, by_project=False):
        return scope_plans._class_key(row, by_project)[0]

    def variant(self, row):
        return scope_plans._class_key(row, False)[1]

    def test_equal_requests_share_a_class_whatever_their_group(self):
        plain = self.key(server('s1'))
        self.assertEqual(plain, self.key(server('s2', 'h2', group='g1',
                                                policy='anti-affinity')))
        # nova's list of changed fields is no part of the request.
        other = server('s3')
        other.data['flavor']['nova_object.changes'] = []
        self.assertEqual(plain, self.key(other))

    def test_request_differences_make_classes(self):
        plain = self.key(server())
        # A pinned zone is a variant of the same request (derived from
        # its judgement), as is the group hint that lifts the limit.
        self.assertEqual(plain, self.key(server(availability_zone='az1')))
        self.assertEqual(('az1', True),
                         self.variant(server(availability_zone='az1')))
        self.assertEqual((None, False), self.variant(server(
            scheduler_hints={'group': 'g1'})))
        self.assertEqual((None, True), self.variant(server()))
        self.assertNotEqual(plain, self.key(server(
            flavor={'nova_object.data': {'flavorid': 'large'}})))
        self.assertNotEqual(plain, self.key(server(
            scheduler_hints={'different_host': ['x']})))

    def test_project_counts_only_when_a_filter_reads_it(self):
        a, b = server(), server(project_id='p2')
        self.assertEqual(self.key(a), self.key(b))
        self.assertNotEqual(self.key(a, True), self.key(b, True))

    def test_devices_ports_and_numa_are_judged_alone(self):
        pci = server(pci_requests={'nova_object.data': {'requests': [{}]}})
        self.assertEqual(('server', 's1'), self.key(pci))
        numa = server(numa_topology={'nova_object.data': {'cells': []}})
        self.assertEqual(('server', 's1'), self.key(numa))
        ports = server()
        ports.has_port_resources = True
        self.assertEqual(('server', 's1'), self.key(ports))
        # An empty PCI request list is no device.
        empty = server(pci_requests={'nova_object.data': {'requests': []}})
        self.assertEqual('request', self.key(empty)[0])


class GroupTest(testtools.TestCase):

    def test_policy_and_legacy_policies(self):
        self.assertEqual(('g', 'affinity'),
                         server(group='g', policy='affinity').group())
        self.assertEqual(('g', 'anti-affinity'),
                         server(group='g', policy='legacy').group())
        self.assertEqual((None, None), server().group())
        self.assertEqual((None, None), scope.ScopeServer(
            's', 'h', '', 'active', None, 'p', None).group())
