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

"""The demo runs as a newcomer runs it, and leaves placement's numbers."""

import os
import subprocess

from minicloud_lib import cloud
from tests.e2e import base


class TestDemo(base.E2ETestCase):

    timeout = 600

    def test_demo_moves_and_refuses_then_usage_matches_placement(self):
        if not self.target.can_run_demo:
            self.skipTest('the demo runs on the local cloud only')
        command = os.path.join(cloud.REPO, 'tools', 'minicloud')
        result = subprocess.run(  # noqa: S603 (the checkout's own tool)
            [command, 'demo'], capture_output=True, text=True, timeout=540)
        output = result.stdout + result.stderr
        self.assertEqual(0, result.returncode, output[-4000:])
        moved = [line for line in output.splitlines()
                 if line.startswith('db-1 moved from')]
        self.assertEqual(1, len(moved), output[-4000:])
        # compute1 and compute2 are the only az1 + nfs-a hosts.
        self.assertIn(moved[0].split()[3:6],
                      (['compute1', 'to', 'compute2'],
                       ['compute2', 'to', 'compute1']))
        self.assertIn('scheduler WARNING: No destination for '
                      'live-migration of server', output)
        for refusal in ('availability_zone rejected 1',
                        'migration_domain rejected 1'):
            self.assertIn(refusal, output)
        self.assertEqual(2, output.count('db-1 is still ACTIVE'))
        self.assert_hosts_match_placement()
