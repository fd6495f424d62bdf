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

"""``openstack livemig host drain`` through the real CLI, with a fault.

compute1 is drained one move at a time; once a server has reached
compute2 (the only host of its zone and storage), that nova-compute is
stopped. The moves after it fail cleanly: every server stays ACTIVE on
compute1 or on compute2, none in ERROR. Once compute2 is back, running
the same command again finishes the job.
"""

import json
import os
import subprocess
import time

from minicloud_lib import cloud
from tests.e2e import base

SERVERS = 6


class TestDrain(base.E2ETestCase):

    timeout = 600

    def setUp(self):
        super().setUp()
        if not self.target.can_run_demo:
            self.skipTest('the CLI runs on the local cloud only')
        self.clear_hosts(self.source, self.peer, self.other_domain,
                         self.other_zone)
        self.addCleanup(self.enable, self.source)

    def drain(self, *args):
        """Start the CLI as an operator runs it, JSON out."""
        env = dict(os.environ, **cloud.openrc())
        return subprocess.Popen(  # noqa: S603 (the checkout's own CLI)
            [os.path.join(cloud.BIN, 'openstack'), 'livemig', 'host', 'drain',
             self.source, '--max-concurrent', '1', '--reason', 'e2e',
             '-f', 'json'] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env)

    def finished(self, proc, timeout=300):
        out, err = proc.communicate(timeout=timeout)
        try:
            rows = json.loads(out)
        except ValueError:
            self.fail('not JSON:\n%s\n%s' % (out, err))
        return proc.returncode, {row['ID']: row for row in rows}, err

    def where(self, servers):
        return {s.id: self.compute.get_server(s.id).compute_host
                for s in servers}

    def restart_peer(self):
        self.target.start_compute(self.peer)
        deadline = time.monotonic() + 90
        while self.service(self.peer).state != 'up':
            if time.monotonic() > deadline:
                self.fail('%s not up after 90 s' % self.peer)
            time.sleep(1)

    def assert_nothing_lost(self, servers):
        for server in servers:
            server = self.settled(server)
            self.assertEqual('ACTIVE', server.status, server.id)
            self.assertIn(server.compute_host, (self.source, self.peer))

    def test_drain_with_a_compute_stopped_midway_then_resumed(self):
        servers = [self.boot('e2e-drain-%d' % i, 'm1.tiny', host=self.source)
                   for i in range(SERVERS)]
        proc = self.drain()
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        deadline = time.monotonic() + 120
        while self.peer not in self.where(servers).values():
            if time.monotonic() > deadline or proc.poll() is not None:
                self.fail('no server reached %s: %s' % (
                    self.peer, proc.communicate()))
            time.sleep(0.5)
        self.assertTrue(self.target.stop_compute(self.peer))
        self.addCleanup(self.restart_peer)
        code, rows, err = self.finished(proc)
        self.assertEqual(1, code, (rows, err))
        results = [rows[s.id]['Result'] for s in servers]
        self.assertGreaterEqual(results.count('completed'), 1, rows)
        self.assertGreaterEqual(results.count('failed'), 1, rows)
        self.assertEqual(set(), set(results) - {'completed', 'failed'}, rows)
        service = self.service(self.source)
        self.assertEqual(('disabled', 'livemig drain: e2e'),
                         (service.status, service.disabled_reason))
        self.assert_nothing_lost(servers)

        self.restart_peer()
        left = [s for s in servers
                if self.where([s])[s.id] == self.source]
        code, rows, err = self.finished(self.drain())
        self.assertEqual(0, code, (rows, err))
        # Only the servers still on compute1 are in the new plan.
        self.assertEqual({s.id for s in left}, set(rows))
        self.assertEqual({'completed'},
                         {row['Result'] for row in rows.values()})
        self.assertEqual({self.peer}, set(self.where(servers).values()))
        self.assert_nothing_lost(servers)
