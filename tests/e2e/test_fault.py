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

"""A nova-compute stops: reported down, never picked, and comes back."""

import time

from tests.e2e import base


class TestComputeDown(base.E2ETestCase):

    timeout = 240

    def setUp(self):
        super().setUp()
        self.clear_hosts(self.source, self.peer)

    def state(self, host):
        return self.livemig('/hosts/' + host).json()['host']['service'][
            'state']

    def wait_for_state(self, host, wanted, timeout=60):
        deadline = time.monotonic() + timeout
        while self.state(host) != wanted:
            if time.monotonic() > deadline:
                self.fail('%s not %s after %d s' % (host, wanted, timeout))
            time.sleep(1)

    def restart_peer(self):
        self.target.start_compute(self.peer)
        self.wait_for_state(self.peer, 'up')

    def test_stopped_compute_is_never_picked_and_comes_back(self):
        server = self.boot('e2e-fault', host=self.source)
        self.assertTrue(self.target.stop_compute(self.peer))
        self.addCleanup(self.restart_peer)
        self.wait_for_state(self.peer, 'down')

        # Only the stopped host could take the server: the move fails and
        # the server stays ACTIVE where it was.
        mark = self.scheduler_log_mark()
        response = self.live_migrate(server)
        self.assertEqual(202, response.status_code, response.text)
        server = self.settled(server)
        self.assertEqual((self.source, 'ACTIVE'),
                         (server.compute_host, server.status))
        self.assertEqual('error', self.last_migration(server)['status'])
        log = self.scheduler_log_since(mark)
        self.assertIn('No destination for live-migration of server %s' %
                      server.id, log)
        ours = [line for line in log.splitlines()
                if 'nova_livemig_ext' in line and server.id in line]
        self.assertTrue(ours)
        self.assertNotIn(self.peer, '\n'.join(ours))

        # Named, it is refused as well (nova checks the service is up).
        response = self.live_migrate(server, self.peer)
        self.assertEqual(202, response.status_code, response.text)
        self.assertEqual(self.source, self.settled(server).compute_host)
        self.assertEqual('error', self.last_migration(server)['status'])

        self.restart_peer()
        self.assertEqual(202, self.live_migrate(server).status_code)
        server = self.settled(server)
        self.assertEqual((self.peer, 'ACTIVE'),
                         (server.compute_host, server.status))
        self.assert_hosts_match_placement()
