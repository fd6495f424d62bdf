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

"""``openstack livemig server destinations|migrate`` against the real API."""

from urllib import parse as urlparse

from osc_lib import exceptions
from osc_lib.test import fakes as osc_fakes
from oslo_serialization import jsonutils

from nova_livemig_ext.osc import plugin
from nova_livemig_ext.osc import servers
from tests.functional import base


class ComputeEndpoint:
    """nova's compute endpoint as openstacksdk's proxy offers it.

    The test client speaks nova's latest microversion; the microversions
    the commands ask for are recorded.
    """

    def __init__(self, api):
        self.api = api
        self.microversions = []

    def get(self, path, params=None, raise_exc=True, microversion=None):
        query = '?' + urlparse.urlencode(params) if params else ''
        return self.api.api_request(path.lstrip('/') + query,
                                    check_response_status=None)

    def post(self, path, json=None, raise_exc=True, microversion=None):
        self.microversions.append(microversion)
        return self.api.api_request(path.lstrip('/'), method='POST',
                                    body=jsonutils.dumps(json),
                                    check_response_status=None)


class ServerCommandsTest(base.LivemigApiTestBase):

    def setUp(self):
        super().setUp()
        self.start_hosts({'host1': ('az1', 'nfs-a'),
                          'host2': ('az1', 'nfs-a'),
                          'host3': ('az1', 'nfs-a'),
                          'host4': ('az2', 'nfs-a')})
        self.boot(self.large, 'host3')
        self.server = self.boot(self.medium, 'host1')
        self.app = osc_fakes.FakeApp(osc_fakes.FakeStdout(),
                                     osc_fakes.FakeLog())
        self.app.client_manager = osc_fakes.FakeClientManager()
        self.endpoint = ComputeEndpoint(self.admin_api)
        self.app.client_manager.livemig = plugin.Client(self.endpoint)

    def run_command(self, cls, *args):
        cmd = cls(self.app, None)
        return cmd.take_action(cmd.get_parser('openstack').parse_args(args))

    def test_destinations_by_name_ranked_then_all(self):
        columns, rows = self.run_command(servers.ListServerDestination,
                                         self.server['name'])
        self.assertEqual(['Host', 'Eligible', 'Rank', 'Weight', 'Reasons'],
                         columns)
        self.assertEqual([('host2', True, 1), ('host3', True, 2)],
                         [tuple(row[:3]) for row in rows])
        _, rows = self.run_command(servers.ListServerDestination,
                                   self.server['id'], '--all')
        self.assertEqual(['host2', 'host3', 'host4'],
                         [row[0] for row in rows])
        self.assertEqual('availability_zone: the host is in availability '
                         'zone az2, the source host host1 is in az1',
                         rows[2][4])

    def test_unknown_server_names_it(self):
        error = self.assertRaises(exceptions.CommandError, self.run_command,
                                  servers.ListServerDestination, 'nosuch')
        self.assertEqual('No server with a name or ID of nosuch exists.',
                         str(error))

    def test_migrate_says_where_and_why(self):
        columns, values = self.run_command(servers.MigrateServer,
                                           self.server['name'], '--wait')
        result = dict(zip(columns, values, strict=True))
        self.assertEqual('host2', result['destination'])
        self.assertEqual('completed', result['status'])
        self.assertIn('rank 1 of 2 eligible hosts', result['why'])
        self.assertIn('runner-up host3 (rank 2', result['why'])
        self.assertEqual(['2.68'], self.endpoint.microversions)
        self.assertEqual('host2', self.host_of(self.server))

    def test_migrate_to_a_refused_host_says_why_and_moves_nothing(self):
        error = self.assertRaises(exceptions.CommandError, self.run_command,
                                  servers.MigrateServer, self.server['id'],
                                  '--host', 'host4')
        self.assertIn('Nova would refuse to live-migrate server %s to host4: '
                      'availability_zone: the host is in availability zone '
                      'az2' % self.server['id'], str(error))
        self.assertEqual([], self.endpoint.microversions)
        self.assertEqual('host1', self.host_of(self.server))
