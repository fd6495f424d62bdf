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

"""The destinations API through the real nova-api, then a real move.

nova-api evaluates with its nova.conf; the local cloud gives nova-api and
nova-scheduler the same [filter_scheduler] and [livemig_ext] options.
"""

from tests.e2e import base


class TestDestinations(base.E2ETestCase):

    def setUp(self):
        super().setUp()
        self.clear_hosts(self.source, self.peer, self.other_domain,
                         self.other_zone)

    def destinations(self, server, query='', session=None):
        response = self.livemig('/servers/%s/destinations%s'
                                % (server.id, query), session=session)
        return response

    def test_explanation_is_what_the_scheduler_does(self):
        server = self.boot('e2e-explain', 'm1.medium', host=self.source)
        response = self.destinations(server)
        self.assertEqual(200, response.status_code, response.text)
        body = response.json()
        by_host = {d['host']: d for d in body['destinations']}
        self.assertEqual(self.source, body['server']['host'])
        self.assertEqual((True, 1), (by_host[self.peer]['eligible'],
                                     by_host[self.peer]['rank']))
        self.assertEqual(
            'migration_domain',
            by_host[self.other_domain]['reasons'][0]['constraint'])
        self.assertEqual(
            'availability_zone',
            by_host[self.other_zone]['reasons'][0]['constraint'])
        self.assertIn('LiveMigrationDestinationFilter',
                      body['evaluated_with']['filters'])
        self.assertEqual(202, self.live_migrate(server).status_code)
        self.assertEqual(self.peer, self.settled(server).compute_host)

    def test_refusals_carry_nova_fault_bodies(self):
        server = self.boot('e2e-explain-refusals', host=self.source)
        response = self.destinations(server, '?host=nosuchhost')
        self.assertEqual(404, response.status_code)
        self.assertIn('nosuchhost', response.json()['itemNotFound']['message'])
        response = self.destinations(server, '?bogus=1')
        self.assertEqual(400, response.status_code)
        self.assertIn('bogus', response.json()['badRequest']['message'])
        response = self.destinations(server,
                                     session=self.member().session)
        self.assertEqual(403, response.status_code)
        self.compute.stop_server(server)
        self.wait_for(server.id, lambda s: s.status == 'SHUTOFF')
        response = self.destinations(server)
        self.assertEqual(409, response.status_code, response.text)
        self.assertIn('stopped',
                      response.json()['conflictingRequest']['message'])
