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

import json
from unittest import mock

from openstack import exceptions as sdk_exceptions
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
                 'capacity': 32, 'used': 3, 'free': 29,
                 'max_utilization': 0.9, 'max_utilization_aggregate': None,
                 'allowed': 28, 'room': 25},
        'MEMORY_MB': {'total': 8192, 'reserved': 512,
                      'allocation_ratio': 1.0, 'capacity': 7680,
                      'used': 3072, 'free': 4608, 'max_utilization': 0.5,
                      'max_utilization_aggregate': 'nfs-a',
                      'allowed': 3840, 'room': 768},
        'DISK_GB': {'total': 100, 'reserved': 0, 'allocation_ratio': 1.0,
                    'capacity': 100, 'used': 95, 'free': 5,
                    'max_utilization': 0.9,
                    'max_utilization_aggregate': None,
                    'allowed': 90, 'room': 0}},
}
SERVER = {
    'id': 's1', 'name': 'web', 'project_id': 'p1', 'user_id': 'u1',
    'flavor': {'name': 'small', 'vcpus': 1, 'ram': 512, 'disk': 1},
    'vm_state': 'active', 'task_state': None, 'power_state': 1,
    'created_at': '2026-11-23T09:00:00+00:00', 'availability_zone': 'az1'}


class Project:
    def __init__(self, project_id, name):
        self.id = project_id
        self.name = name


class FakeCommands(dict):
    """A command manager: (name, entry point) pairs, as cliff iterates."""

    def __iter__(self):
        return iter((name, mock.Mock(load=mock.Mock(return_value=cls)))
                    for name, cls in self.items())


def response(status, body):
    resp = mock.Mock(status_code=status, text=str(body))
    resp.json.return_value = body
    return resp


class OscTest(osc_base.TestCommand):

    def setUp(self):
        super().setUp()
        self.compute = mock.Mock()
        self.app.client_manager.livemig = plugin.Client(self.compute)
        # Keystone through openstacksdk's identity proxy: what it answers
        # is set per test (no keystone runs in unit tests).
        self.identity = self.app.client_manager.sdk_connection.identity
        self.identity.get_project.side_effect = lambda project_id: (
            Project(project_id, {'p1': 'demo-a', 'p2': 'demo-b'}
                    [project_id]))

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
                          'VCPU used/allowed', 'RAM MB used/allowed',
                          'Disk GB used/allowed'], columns)
        # used / (cap in force x capacity), the aggregate's 0.5 for RAM.
        self.assertEqual(['compute1', 'az1', 'nfs-a', 'disabled, up', 2,
                          '3/28', '3072/3840', '95/90'], rows[0])
        self.assertEqual('compute2', rows[1][0])

    def test_host_list_long_adds_room_cap_and_capacity(self):
        self.compute.get.return_value = response(
            200, {'hosts': [HOST], 'unreachable_cells': []})
        columns, rows = self.run_command(hosts.ListHost, ['--long'],
                                         [('long', True)])
        self.assertEqual(
            ['Cell', 'Aggregates', 'Disabled Reason',
             'VCPU room', 'RAM MB room', 'Disk GB room',
             'VCPU cap', 'RAM MB cap', 'Disk GB cap',
             'VCPU capacity', 'RAM MB capacity', 'Disk GB capacity'],
            columns[8:])
        self.assertEqual(['cell1', 'az1,nfs-a', 'maintenance', 25, 768, 0,
                          0.9, 0.5, 0.9, 32, 7680, 100], rows[0][8:])

    def show(self, fmt_json=False):
        host = dict(HOST, projects=[
            {'project_id': 'p1', 'instances': 2, 'VCPU': 2,
             'MEMORY_MB': 2048, 'DISK_GB': 10},
            {'project_id': 'p3', 'instances': 1, 'VCPU': 1,
             'MEMORY_MB': 512, 'DISK_GB': 1}],
            migrations={'incoming': [], 'outgoing': [
                {'id': 'm1', 'server_id': 's1', 'source': 'compute1',
                 'dest': 'compute2', 'status': 'running',
                 'migration_type': 'live-migration',
                 'held': {'VCPU': 1, 'MEMORY_MB': 1024, 'DISK_GB': 10}}]},
            other_allocations=[{'consumer_id': 'c1', 'held': {
                'VCPU': 1, 'MEMORY_MB': 512}}])
        self.compute.get.return_value = response(200, {'host': host})
        columns, values = self.run_command(hosts.ShowHost, ['compute1'],
                                           [('host', 'compute1')])
        return dict(zip(columns, values, strict=True))

    def test_host_show_sections_as_text(self):
        self.identity.get_project.side_effect = [
            Project('p1', 'demo-a'), sdk_exceptions.NotFoundException()]
        shown = self.show()
        self.assertEqual(
            ['host', 'cell', 'availability_zone', 'migration_domains',
             'aggregates', 'service', 'instances', 'resources', 'projects',
             'migrations', 'other_allocations'], list(shown))
        self.assertEqual('az1', shown['availability_zone'])
        self.assertEqual('disabled, up (maintenance)', shown['service'])
        self.assertEqual([
            'class      total  reserved  ratio  capacity  cap  cap from'
            '         allowed  used  room',
            'VCPU           8         0    4.0        32  0.9  option'
            '                28     3    25',
            'MEMORY_MB   8192       512    1.0      7680  0.5  aggregate '
            'nfs-a     3840  3072   768',
            'DISK_GB      100         0    1.0       100  0.9  option'
            '                90    95     0',
        ], shown['resources'].human_readable().splitlines())
        # p3's name is unknown to keystone: its id stands in.
        self.assertEqual([
            'project  id  instances  VCPU  MEMORY_MB  DISK_GB',
            'demo-a   p1          2     2       2048       10',
            'p3       p3          1     1        512        1',
        ], shown['projects'].human_readable().splitlines())
        self.assertEqual(
            'outgoing   live-migration  s1      compute1 -> compute2  running'
            '          1            1024            10',
            shown['migrations'].human_readable().splitlines()[1])
        self.assertIn('c1', shown['other_allocations'].human_readable())

    def test_host_show_says_none_for_empty_sections(self):
        host = dict(HOST, projects=[], migrations={'incoming': [],
                                                   'outgoing': []},
                    other_allocations=[])
        self.compute.get.return_value = response(200, {'host': host})
        columns, values = self.run_command(hosts.ShowHost, ['compute1'],
                                           [('host', 'compute1')])
        shown = dict(zip(columns, values, strict=True))
        for section in ('projects', 'migrations', 'other_allocations'):
            self.assertEqual('none', shown[section].human_readable())
            self.assertEqual([], shown[section].machine_readable())

    def test_host_show_json_is_structured_with_numbers(self):
        shown = self.show()
        data = json.loads(json.dumps({
            k: v.machine_readable() if hasattr(v, 'machine_readable') else v
            for k, v in shown.items()}))
        self.assertEqual(HOST['resources'], data['resources'])
        self.assertEqual(
            [{'project_id': 'p1', 'project_name': 'demo-a', 'instances': 2,
              'VCPU': 2, 'MEMORY_MB': 2048, 'DISK_GB': 10},
             {'project_id': 'p3', 'project_name': None, 'instances': 1,
              'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 1}],
            data['projects'])
        self.assertEqual('outgoing', data['migrations'][0]['direction'])
        self.assertEqual(1024, data['migrations'][0]['held']['MEMORY_MB'])

        def strings_for_numbers(value):
            if isinstance(value, dict):
                return any(strings_for_numbers(v) for v in value.values())
            if isinstance(value, list):
                return any(strings_for_numbers(v) for v in value)
            return value == ''
        self.assertFalse(strings_for_numbers(data), data)

    def test_project_names_fall_back_to_ids_without_keystone_access(self):
        self.identity.get_project.side_effect = (
            sdk_exceptions.ForbiddenException())
        shown = self.show()
        self.assertEqual(['p1', 'p3'], [
            p['project_name'] or p['project_id']
            for p in shown['projects'].machine_readable()])
        self.assertIsNone(shown['projects'].machine_readable()[0][
            'project_name'])
        # Refused once: not asked again for the next project.
        self.assertEqual(1, self.identity.get_project.call_count)

    def test_host_server_list_fits_and_words_power_state(self):
        other = dict(SERVER, id='s2', project_id='p9', power_state=4,
                     vm_state='stopped', task_state='powering-on')
        self.identity.get_project.side_effect = [
            Project('p1', 'demo-a'), sdk_exceptions.NotFoundException()]
        self.compute.get.return_value = response(200, {'servers': [
            SERVER, other]})
        columns, rows = self.run_command(
            hosts.ListHostServer, ['compute1'], [('host', 'compute1')])
        self.compute.get.assert_called_once_with(
            '/os-livemig/hosts/compute1/servers', params=None,
            raise_exc=False)
        self.assertEqual(['ID', 'Name', 'Project', 'Flavor', 'Status',
                          'Power State'], columns)
        self.assertEqual(['s1', 'web', 'demo-a', 'small', 'active',
                          'Running'], rows[0])
        self.assertEqual(['s2', 'web', 'p9', 'small',
                          'stopped, powering-on', 'Shutdown'], rows[1])

    def test_host_server_list_long(self):
        self.compute.get.return_value = response(200, {'servers': [SERVER]})
        columns, rows = self.run_command(
            hosts.ListHostServer, ['compute1', '--long'],
            [('host', 'compute1'), ('long', True)])
        self.assertEqual(['Project ID', 'User ID', 'VCPUs', 'RAM MB',
                          'Disk GB', 'Zone', 'Created'], columns[6:])
        self.assertEqual(['p1', 'u1', 1, 512, 1, 'az1',
                          '2026-11-23T09:00:00+00:00'], rows[0][6:])

    def test_project_option_takes_a_name(self):
        self.identity.find_project.return_value = Project('p1', 'demo-a')
        self.compute.get.return_value = response(200, {'servers': [SERVER]})
        self.run_command(hosts.ListHostServer,
                         ['compute1', '--project', 'demo-a'],
                         [('host', 'compute1'), ('project', 'demo-a')])
        self.identity.find_project.assert_called_once_with(
            'demo-a', ignore_missing=True)
        self.compute.get.assert_called_once_with(
            '/os-livemig/hosts/compute1/servers',
            params={'project_id': 'p1'}, raise_exc=False)
        # The name found with the id is not asked for again.
        self.identity.get_project.assert_not_called()

    def test_project_option_unknown_to_keystone_is_an_error(self):
        self.identity.find_project.return_value = None
        error = self.assertRaises(
            exceptions.CommandError, self.run_command,
            hosts.ListHostServer, ['compute1', '--project', 'nosuch'],
            [('project', 'nosuch')])
        self.assertEqual('No project with a name or ID of nosuch exists.',
                         str(error))
        self.compute.get.assert_not_called()

    def test_project_option_is_an_id_without_keystone_access(self):
        self.identity.find_project.side_effect = (
            sdk_exceptions.ForbiddenException())
        self.compute.get.return_value = response(200, {'servers': []})
        self.run_command(hosts.ListHostServer,
                         ['compute1', '--project', 'p1'],
                         [('project', 'p1')])
        self.compute.get.assert_called_once_with(
            '/os-livemig/hosts/compute1/servers',
            params={'project_id': 'p1'}, raise_exc=False)

    def test_help_lists_every_livemig_command_with_its_summary(self):
        text = plugin.commands_text(FakeCommands({
            'livemig': plugin.Help,
            'livemig host list': hosts.ListHost,
            'livemig host show': hosts.ShowHost,
            'server list': object}))
        self.assertEqual([
            'Commands (openstack <command> --help for one):',
            '  livemig host list  List compute hosts with their usage and '
            'the limit of incoming moves',
            '  livemig host show  Show a host\'s facts, resources, projects '
            'and moves in progress',
        ], text.splitlines())

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
