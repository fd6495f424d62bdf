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

"""The API extension served by nova-api, mounted as the docs say."""

from tests.functional import base


class HostServersTest(base.LivemigApiTestBase):
    """GET /os-livemig/hosts/{host}/servers."""

    def setUp(self):
        super().setUp()
        self.start_hosts({'host1': ('az1', 'nfs-a'),
                          'host2': ('az1', 'nfs-a')})
        self.first = self.boot(self.small, 'host1')
        self.second = self.boot(self.medium, 'host1')
        self.elsewhere = self.boot(self.small, 'host2')

    def test_admin_lists_the_servers_of_a_host(self):
        status, body = self.call(self.admin_api, '/hosts/host1/servers')
        self.assertEqual(200, status, body)
        servers = body['servers']
        self.assertEqual([self.first['id'], self.second['id']],
                         [s['id'] for s in servers])
        server = servers[1]
        self.assertEqual(
            {'id', 'name', 'project_id', 'user_id', 'flavor', 'vm_state',
             'task_state', 'power_state', 'created_at', 'availability_zone'},
            set(server))
        self.assertEqual({'name': 'medium', 'vcpus': 1, 'ram': 2048,
                          'disk': 10}, server['flavor'])
        self.assertEqual('active', server['vm_state'])
        self.assertIsNone(server['task_state'])
        self.assertEqual(1, server['power_state'])
        self.assertEqual('az1', server['availability_zone'])
        self.assertIsNotNone(server['created_at'])
        self.assertEqual(self.second['tenant_id'], server['project_id'])
        self.assertEqual(self.second['user_id'], server['user_id'])
        self.assertEqual(self.second['name'], server['name'])

    def test_follows_live_migration_and_delete(self):
        self.live_migrate(self.first, host='host2')
        self._delete_server(self.second)
        self._wait_until_deleted(self.second)
        _, body = self.call(self.admin_api, '/hosts/host1/servers')
        self.assertEqual([], body['servers'])
        _, body = self.call(self.admin_api, '/hosts/host2/servers')
        self.assertEqual({self.first['id'], self.elsewhere['id']},
                         {s['id'] for s in body['servers']})

    def test_paging_and_project_filter(self):
        status, body = self.call(self.admin_api,
                                 '/hosts/host1/servers?limit=1')
        self.assertEqual([self.first['id']],
                         [s['id'] for s in body['servers']])
        (link,) = body['servers_links']
        self.assertEqual('next', link['rel'])
        self.assertIn('marker=%s' % self.first['id'], link['href'])
        _, body = self.call(self.admin_api, '/hosts/host1/servers?limit=1'
                            '&marker=%s' % self.first['id'])
        self.assertEqual([self.second['id']],
                         [s['id'] for s in body['servers']])
        _, body = self.call(self.admin_api, '/hosts/host1/servers?'
                            'project_id=%s' % self.first['tenant_id'])
        self.assertEqual(2, len(body['servers']))
        _, body = self.call(self.admin_api,
                            '/hosts/host1/servers?project_id=nobody')
        self.assertEqual([], body['servers'])

    def test_member_and_reader_are_forbidden(self):
        fixture = self.api_fixture
        for api in (fixture.api, fixture.reader_api, fixture.other_api):
            status, body = self.call(api, '/hosts/host1/servers')
            self.assertEqual(403, status)
            self.assertEqual(403, body['forbidden']['code'])
            self.assertIn('livemig_ext:hosts:servers',
                          body['forbidden']['message'])

    def test_operators_override_the_rule_in_nova_policy(self):
        self.policy.set_rules({'livemig_ext:hosts:servers': 'role:reader'},
                              overwrite=False)
        status, body = self.call(self.api_fixture.reader_api,
                                 '/hosts/host1/servers')
        self.assertEqual(200, status, body)
        status, _ = self.call(self.api_fixture.other_api,
                              '/hosts/host1/servers')
        self.assertEqual(403, status)

    def test_unknown_host_is_404_naming_it(self):
        status, body = self.call(self.admin_api, '/hosts/nohost/servers')
        self.assertEqual(404, status)
        self.assertEqual(
            {'itemNotFound': {
                'code': 404,
                'message': 'Compute host nohost could not be found.'}},
            body)

    def test_bad_query_is_400_naming_the_parameter(self):
        cases = {
            'limit=abc': 'limit=abc',
            'limit=-1': 'limit=-1',
            'limit=0': 'limit=0',
            'limit=1001': 'limit=1001',
            'color=red': 'Unknown query parameter color',
            'limit=1&limit=2': 'limit is given 2 times',
            'marker=%s' % self.elsewhere['id']:
                'marker=%s' % self.elsewhere['id'],
            'project_id=': 'project_id',
        }
        for query, fragment in cases.items():
            status, body = self.call(self.admin_api,
                                     '/hosts/host1/servers?' + query)
            self.assertEqual(400, status, query)
            self.assertEqual(400, body['badRequest']['code'])
            self.assertIn(fragment, body['badRequest']['message'], query)

    def test_unknown_path_and_wrong_method(self):
        status, body = self.call(self.admin_api, '/nothing')
        self.assertEqual(404, status)
        self.assertIn('Unknown path /nothing', body['itemNotFound']['message'])
        status, body = self.call(self.admin_api, '/hosts/host1/servers',
                                 method='DELETE')
        self.assertEqual(405, status)
        self.assertEqual(405, body['badMethod']['code'])

    def test_malformed_requests_never_give_500(self):
        paths = ['', '/', '/hosts/', '/hosts//servers', '/hosts/host1/',
                 '/hosts/host1/servers/', '/hosts/host1/servers/x',
                 '/hosts/%00/servers', '/hosts/%25/servers',
                 '/hosts/' + 'h' * 300 + '/servers',
                 '/hosts/host1/servers?limit=9999999999999999999999',
                 '/hosts/host1/servers?limit=1.5',
                 '/hosts/host1/servers?marker=%00',
                 '/hosts/host1/servers?%ff=1',
                 '/hosts/host1/servers?limit',
                 '/hosts/host1/servers?=x',
                 '/servers', '/servers/', '/servers/x/destinations',
                 '/servers/%00/destinations',
                 '/servers/' + 'x' * 300 + '/destinations',
                 '/servers/%s/destinations?host=%%00' % base.uuids.nothing,
                 '/servers/%s/destinations?host=' % base.uuids.nothing,
                 '/servers/%s/destinations/' % base.uuids.nothing,
                 '/servers/%s/destinations?%%ff=1' % base.uuids.nothing]
        for path in paths:
            for method in ('GET', 'POST', 'PUT', 'DELETE'):
                status, _ = self.call(self.admin_api, path, method=method)
                self.assertLess(status, 500, (method, path))
                self.assertGreaterEqual(status, 200, (method, path))
