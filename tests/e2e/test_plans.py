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

"""``openstack livemig consolidate`` and ``balance`` through the real CLI.

compute1 and compute2 share zone az1 and storage nfs-a, compute3 is in
az1 on other storage: a server on each of compute1 and compute2 fits on
one of them. The consolidation empties the other and disables it; the
balance, once it is enabled again, moves one server back.
"""

import json
import os
import subprocess

from minicloud_lib import cloud
from tests.e2e import base


class TestPlans(base.E2ETestCase):

    timeout = 600

    def setUp(self):
        super().setUp()
        if not self.target.can_run_demo:
            self.skipTest('the CLI runs on the local cloud only')
        self.clear_hosts(self.source, self.peer, self.other_domain,
                         self.other_zone)
        for host in (self.source, self.peer, self.other_domain):
            self.addCleanup(self.enable, host)

    def run_cli(self, *args):
        """(exit code, {host: row}, stderr) of the CLI, JSON out."""
        env = dict(os.environ, **cloud.openrc())
        ran = subprocess.run(  # noqa: S603 (the checkout's own CLI)
            [os.path.join(cloud.BIN, 'openstack'), 'livemig'] + list(args) +
            ['-f', 'json'], capture_output=True, text=True, env=env,
            timeout=300)
        try:
            rows = json.loads(ran.stdout)
        except ValueError:
            self.fail('not JSON:\n%s\n%s' % (ran.stdout, ran.stderr))
        return ran.returncode, {row['Host']: row for row in rows}, ran.stderr

    def where(self, servers):
        return {s.id: self.compute.get_server(s.id).compute_host
                for s in servers}

    def test_consolidate_disable_emptied_then_balance(self):
        servers = [self.boot('e2e-plan-1', 'm1.tiny', host=self.source),
                   self.boot('e2e-plan-2', 'm1.tiny', host=self.peer)]
        code, rows, err = self.run_cli(
            'consolidate', '--availability-zone', 'az1', '--disable-emptied',
            '--reason', 'e2e')
        self.assertEqual(0, code, (rows, err))
        self.assertEqual({self.source, self.peer, self.other_domain},
                         set(rows))
        emptied = [h for h, row in rows.items()
                   if row['Status'].startswith('emptied')]
        self.assertEqual(1, len(emptied), rows)
        (emptied,) = emptied
        kept = ({self.source, self.peer} - {emptied}).pop()
        self.assertEqual({kept}, set(self.where(servers).values()))
        for server in servers:
            self.assertEqual('ACTIVE', self.settled(server).status)
        # The emptied host: 0 instances in the API, disabled with the
        # reason, nothing of the servers left in placement.
        host = self.livemig('/hosts/%s' % emptied).json()['host']
        self.assertEqual(0, host['instances'], host)
        service = self.service(emptied)
        self.assertEqual(('disabled', 'livemig consolidate: e2e'),
                         (service.status, service.disabled_reason))
        self.assertEqual(0, rows[emptied]['Servers after'])
        self.assertEqual(2, rows[kept]['Servers after'])
        self.assertGreater(rows[kept]['After'], rows[kept]['Before'])
        self.assert_hosts_match_placement()

        # In the morning: enabled again, the balance moves one back.
        self.enable(emptied)
        code, rows, err = self.run_cli(
            'balance', '--availability-zone', 'az1', '--max-moves', '1')
        self.assertEqual(0, code, (rows, err))
        self.assertEqual({kept, emptied},
                         set(self.where(servers).values()))
        self.assertEqual(1, rows[emptied]['Servers after'], rows)
        for server in servers:
            self.assertEqual('ACTIVE', self.settled(server).status)
        self.assert_hosts_match_placement()
