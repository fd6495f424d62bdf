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

from urllib import parse as urlparse

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

    def run_command(self, cls, *args):
        cmd = cls(self.app, None)
        return cmd.take_action(cmd.get_parser('openstack').parse_args(args))

    def test_host_list_show_and_server_list(self):
        columns, rows = self.run_command(hosts.ListHost)
        self.assertEqual(['host1', 'host2'], [row[0] for row in rows])
        self.assertEqual('2048/7680', rows[0][6])
        _, rows = self.run_command(hosts.ListHost, '--availability-zone',
                                   'az2')
        self.assertEqual(['host2'], [row[0] for row in rows])
        _, rows = self.run_command(hosts.ShowHost, 'host1')
        self.assertEqual(['host1', '(used)', 1, 1, 2048, 10], rows[1])
        self.assertEqual(['host1', self.server['tenant_id'], 1, 1, 2048, 10],
                         rows[3])
        _, rows = self.run_command(hosts.ListHostServer, 'host1')
        self.assertEqual([self.server['id']], [row[0] for row in rows])

    def test_errors_name_the_problem(self):
        error = self.assertRaises(exceptions.CommandError, self.run_command,
                                  hosts.ShowHost, 'nohost')
        self.assertEqual('Compute host nohost could not be found. '
                         '(HTTP 404)', str(error))
