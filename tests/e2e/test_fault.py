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

"""Faults on the cloud under test.

A nova-compute stops: reported down, never picked, and comes back.
MariaDB stops for a few seconds under a small load: every answer is a 200
or nova's 503, and 200s come back within seconds of its restart.
"""

import time

from testtools import content

from tests.e2e import base
from tests.e2e import load
from tests.e2e import target


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


class TestDatabaseDown(base.E2ETestCase):
    """MariaDB (every nova database, keystone's too) stops for 5 s."""

    timeout = 180
    CLIENTS = 4
    DOWN_SECONDS = 5
    # After MariaDB answers again, each view must answer 200 within this.
    RECOVERY_SECONDS = 10

    def setUp(self):
        super().setUp()
        if isinstance(self.target, target.ExistingCloud):
            self.skipTest('stops the database of the local cloud only')
        from minicloud_lib import services
        self.services = services
        self.mariadb = [s for s in services.services()
                        if s.name == 'mariadb'][0]
        self.addCleanup(self.start_mariadb)

    def start_mariadb(self):
        if not self.services.pid_of(self.mariadb):
            self.services.start(self.mariadb)

    def first_200_after(self, answers, url, since):
        times = [a.started + a.seconds for a in answers
                 if a.url == url and a.status == 200 and a.started >= since]
        return min(times) - since if times else None

    def test_every_answer_is_200_or_novas_503_and_recovery_is_quick(self):
        paths = ['/hosts', '/hosts/' + self.source,
                 '/hosts/%s/servers' % self.source]
        urls = [self.api + path for path in paths]
        for url in urls:
            self.assertEqual(200, self.admin.session.get(
                url, raise_exc=False).status_code, url)
        headers = {'X-Auth-Token': self.admin.session.get_token(),
                   'OpenStack-API-Version': 'compute %s' % base.MICROVERSION}
        # Bounded: 90 s and 20,000 requests at the very most.
        traffic = load.Load(urls, headers, self.CLIENTS, seconds=90,
                            max_requests=5000, timeout=15).start()
        time.sleep(2)
        stopped = traffic.now()
        self.assertTrue(self.services.stop(self.mariadb))
        time.sleep(self.DOWN_SECONDS)
        self.services.start(self.mariadb)
        restarted = traffic.now()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and None in [
                self.first_200_after(traffic.answers, url, restarted)
                for url in urls]:
            time.sleep(0.2)
        time.sleep(1)
        answers = traffic.stop()

        during = [a for a in answers
                  if stopped <= a.started + a.seconds and a.started <
                  restarted]
        recovery = {url: self.first_200_after(answers, url, restarted)
                    for url in urls}
        report = load.summary(answers, traffic.elapsed)
        self.addDetail('mariadb-down', content.text_content(
            'answers by status %s; during the outage %s; seconds from '
            'restart to the first 200: %s' % (
                report['statuses'], load.summary(during, 1)['statuses'],
                {url[len(self.api):]: t for url, t in recovery.items()})))

        wrong = [a for a in answers if a.status not in (200, 503)]
        self.assertEqual([], wrong[:5], '%d answers neither 200 nor 503'
                         % len(wrong))
        # keystone's and placement's databases are MariaDB too: a token
        # authtoken has not cached cannot be validated meanwhile, and
        # placement answers 500.
        named = {'database': 0, 'Keystone': 0, 'Placement': 0}
        for answer in (a for a in answers if a.status == 503):
            self.assertIsInstance(answer.body, dict, answer.body)
            self.assertEqual({'serviceUnavailable'}, set(answer.body),
                             answer.body)
            fault = answer.body['serviceUnavailable']
            self.assertEqual(503, fault['code'])
            which = [word for word in named if word in fault['message']]
            self.assertTrue(which, fault['message'])
            named[which[0]] += 1
        self.addDetail('unavailable', content.text_content(
            '503s naming %s' % named))
        self.assertTrue(named['database'], 'no 503 naming a nova database '
                        'while MariaDB was down')
        for url, seconds in recovery.items():
            self.assertIsNotNone(seconds, '%s never answered 200 again' % url)
            self.assertLess(seconds, self.RECOVERY_SECONDS, url)
