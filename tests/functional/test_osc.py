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

"""``openstack livemig`` commands against the real API extension."""

import types
from urllib import parse as urlparse

from keystoneauth1 import exceptions as ks_exc
from osc_lib import exceptions
from osc_lib.test import fakes as osc_fakes

from nova_livemig_ext.osc import hosts
from nova_livemig_ext.osc import plugin
from tests.functional import base


class ComputeEndpoint:
    """The compute endpoint as openstacksdk's proxy offers it to plugins."""

    def __init__(self, api):
        self.api = api

    def get(self, path, params=None, raise_exc=True):
        query = '?' + urlparse.urlencode(params) if params else ''
        return self.api.api_request(path.lstrip('/') + query,
                                    check_response_status=None)


class NoKeystone:
    """openstacksdk's identity proxy when keystone does not answer."""

    def get_project(self, *args, **kwargs):
        raise ks_exc.ConnectFailure('keystone does not answer')

    find_project = get_project


class CommandsTest(base.LivemigApiTestBase):

    def setUp(self):
        super().setUp()
        self.start_hosts({'host1': ('az1', 'nfs-a'),
                          'host2': ('az2', 'nfs-b')})
        self.server = self.boot(self.medium, 'host1')
        self.app = osc_fakes.FakeApp(osc_fakes.FakeStdout(),
                                     osc_fakes.FakeLog())
        self.app.client_manager = osc_fakes.FakeClientManager()
        self.app.client_manager.livemig = plugin.Client(
            ComputeEndpoint(self.admin_api))
        # nova's functional harness runs no keystone: names cannot be read,
        # as when keystone does not answer.
        self.app.client_manager.sdk_connection = types.SimpleNamespace(
            identity=NoKeystone())

    def run_command(self, cls, *args):
        cmd = cls(self.app, None)
        return cmd.take_action(cmd.get_parser('openstack').parse_args(args))

    def test_host_list_show_and_server_list(self):
        columns, rows = self.run_command(hosts.ListHost)
        self.assertEqual(['host1', 'host2'], [row[0] for row in rows])
        # RAM used / (0.9 x capacity 7680, rounded down).
        self.assertEqual('RAM MB used/allowed', columns[6])
        self.assertEqual('2048/6912', rows[0][6])
        _, rows = self.run_command(hosts.ListHost, '--availability-zone',
                                   'az2')
        self.assertEqual(['host2'], [row[0] for row in rows])
        columns, values = self.run_command(hosts.ShowHost, 'host1')
        shown = dict(zip(columns, values, strict=True))
        ram = shown['resources'].machine_readable()['MEMORY_MB']
        self.assertEqual((7680, 0.9, 6912, 2048, 4864),
                         (ram['capacity'], ram['max_utilization'],
                          ram['allowed'], ram['used'], ram['room']))
        self.assertIn('MEMORY_MB   ', shown['resources'].human_readable())
        # No keystone here: the project shows by its id.
        self.assertEqual(
            [{'project_id': self.server['tenant_id'], 'project_name': None,
              'instances': 1, 'VCPU': 1, 'MEMORY_MB': 2048,
              'DISK_GB': 10}], shown['projects'].machine_readable())
        self.assertEqual('none', shown['migrations'].human_readable())
        _, rows = self.run_command(hosts.ListHostServer, 'host1')
        self.assertEqual([[self.server['id'], self.server['name'],
                           self.server['tenant_id'], 'medium', 'active',
                           'Running']], rows)

    def test_a_filter_naming_nothing_is_an_error(self):
        for option, value, name in (
                ('--availability-zone', 'nosuchaz', 'availability_zone'),
                ('--aggregate', 'nosuchagg', 'aggregate')):
            error = self.assertRaises(exceptions.CommandError,
                                      self.run_command, hosts.ListHost,
                                      option, value)
            self.assertIn('Invalid query parameter %s=%s: no ' % (
                name, value), str(error))

    def test_errors_name_the_problem(self):
        error = self.assertRaises(exceptions.CommandError, self.run_command,
                                  hosts.ShowHost, 'nohost')
        self.assertEqual('Compute host nohost could not be found. '
                         '(HTTP 404)', str(error))
