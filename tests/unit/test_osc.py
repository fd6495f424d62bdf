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

"""The openstackclient plugin, on osc-lib's test fakes.

The compute endpoint is replaced by a fake that answers as the API does;
tests/functional/test_osc.py runs the commands against the real API.
"""

from unittest import mock

from osc_lib import exceptions
from osc_lib.test import base as osc_base

from nova_livemig_ext.osc import hosts
from nova_livemig_ext.osc import plugin

HOST = {
    'host': 'compute1', 'cell': 'cell1', 'availability_zone': 'az1',
    'aggregates': ['az1', 'nfs-a'], 'migration_domains': ['nfs-a'],
    'service': {'status': 'disabled', 'disabled_reason': 'maintenance',
                'state': 'up'},
    'instances': 2,
    'resources': {
        'VCPU': {'total': 8, 'reserved': 0, 'allocation_ratio': 4.0,
                 'capacity': 32, 'used': 3, 'free': 29},
        'MEMORY_MB': {'total': 8192, 'reserved': 512,
                      'allocation_ratio': 1.0, 'capacity': 7680,
                      'used': 3072, 'free': 4608},
        'DISK_GB': {'total': 100, 'reserved': 0, 'allocation_ratio': 1.0,
                    'capacity': 100, 'used': 20, 'free': 80}},
}


def response(status, body):
    resp = mock.Mock(status_code=status, text=str(body))
    resp.json.return_value = body
    return resp


class OscTest(osc_base.TestCommand):

    def setUp(self):
        super().setUp()
        self.compute = mock.Mock()
        self.app.client_manager.livemig = plugin.Client(self.compute)

    def run_command(self, cls, args, verify):
        cmd = cls(self.app, None)
        parsed = self.check_parser(cmd, args, verify)
        return cmd.take_action(parsed)

    def test_host_list_follows_pages_and_passes_filters(self):
        second = dict(HOST, host='compute2')
        self.compute.get.side_effect = [
            response(200, {'hosts': [HOST], 'unreachable_cells': [],
                           'hosts_links': [{'rel': 'next', 'href': 'x'}]}),
            response(200, {'hosts': [second],
                           'unreachable_cells': ['cell2']}),
        ]
        columns, rows = self.run_command(
            hosts.ListHost, ['--availability-zone', 'az1'],
            [('availability_zone', 'az1')])
        self.assertEqual(
            [mock.call('/os-livemig/hosts',
                       params={'availability_zone': 'az1'},
                       raise_exc=False),
             mock.call('/os-livemig/hosts',
                       params={'availability_zone': 'az1',
                               'marker': 'compute1'}, raise_exc=False)],
            self.compute.get.call_args_list)
        self.assertEqual(['Host', 'Zone', 'Domains', 'Service', 'Instances',
                          'VCPU used/capacity', 'RAM MB used/capacity',
                          'Disk GB used/capacity'], columns)
        self.assertEqual(['compute1', 'az1', 'nfs-a', 'disabled, up', 2,
                          '3/32', '3072/7680', '20/100'], rows[0])
        self.assertEqual('compute2', rows[1][0])

    def test_host_list_long(self):
        self.compute.get.return_value = response(
            200, {'hosts': [HOST], 'unreachable_cells': []})
        columns, rows = self.run_command(hosts.ListHost, ['--long'],
                                         [('long', True)])
        self.assertEqual(['Cell', 'Aggregates', 'Disabled Reason',
                          'VCPU free', 'RAM MB free', 'Disk GB free'],
                         columns[8:])
        self.assertEqual(['cell1', 'az1,nfs-a', 'maintenance', 29, 4608, 80],
                         rows[0][8:])

    def test_host_show_prints_totals_and_projects(self):
        host = dict(HOST, projects=[
            {'project_id': 'p1', 'instances': 2, 'VCPU': 2,
             'MEMORY_MB': 2048, 'DISK_GB': 10}],
            migrations={'incoming': [], 'outgoing': [
                {'id': 'm1', 'server_id': 's1', 'source': 'compute1',
                 'dest': 'compute2', 'status': 'running',
                 'migration_type': 'live-migration',
                 'held': {'VCPU': 1, 'MEMORY_MB': 1024, 'DISK_GB': 10}}]},
            other_allocations=[{'consumer_id': 'c1', 'held': {
                'VCPU': 1, 'MEMORY_MB': 512}}])
        self.compute.get.return_value = response(200, {'host': host})
        columns, rows = self.run_command(hosts.ShowHost, ['compute1'],
                                         [('host', 'compute1')])
        self.assertEqual(['Host', 'Project', 'Instances', 'VCPU',
                          'MEMORY_MB', 'DISK_GB'], columns)
        self.assertEqual([
            ['compute1', '(capacity)', '', 32, 7680, 100],
            ['compute1', '(used)', 2, 3, 3072, 20],
            ['compute1', '(free)', '', 29, 4608, 80],
            ['compute1', 'p1', 2, 2, 2048, 10],
            ['compute1', '(outgoing live-migration s1)', '', 1, 1024, 10],
            ['compute1', '(other c1)', '', 1, 512, 0],
        ], rows)

    def test_host_server_list(self):
        self.compute.get.return_value = response(200, {'servers': [{
            'id': 's1', 'name': 'web', 'project_id': 'p1', 'user_id': 'u1',
            'flavor': {'name': 'small', 'vcpus': 1, 'ram': 512, 'disk': 1},
            'vm_state': 'active', 'task_state': None, 'power_state': 1,
            'created_at': '2026-11-23T09:00:00+00:00',
            'availability_zone': 'az1'}]})
        columns, rows = self.run_command(
            hosts.ListHostServer, ['compute1', '--project', 'p1'],
            [('host', 'compute1'), ('project', 'p1')])
        self.compute.get.assert_called_once_with(
            '/os-livemig/hosts/compute1/servers',
            params={'project_id': 'p1'}, raise_exc=False)
        self.assertEqual(['s1', 'web', 'p1', 'small', 1, 512, 1, 'active',
                          '', 1, 'az1', '2026-11-23T09:00:00+00:00'],
                         rows[0])

    def test_api_faults_become_command_errors(self):
        self.compute.get.return_value = response(404, {'itemNotFound': {
            'code': 404, 'message': 'Compute host nohost could not be '
                                    'found.'}})
        error = self.assertRaises(
            exceptions.CommandError, self.run_command, hosts.ShowHost,
            ['nohost'], [('host', 'nohost')])
        self.assertEqual('Compute host nohost could not be found. '
                         '(HTTP 404)', str(error))
        self.compute.get.return_value = response(502, 'bad gateway')
        error = self.assertRaises(
            exceptions.CommandError, self.run_command, hosts.ShowHost,
            ['x'], [('host', 'x')])
        self.assertIn('HTTP 502', str(error))

    def test_plugin_options(self):
        parser = mock.Mock()
        self.assertIs(parser, plugin.build_option_parser(parser))
        parser.add_argument.assert_called_once()
        instance = mock.Mock()
        client = plugin.make_client(instance)
        self.assertIs(instance.sdk_connection.compute, client._compute)
