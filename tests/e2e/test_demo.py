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

"""The demo runs as a newcomer runs it; what it and README print runs too.

One run of ``tools/minicloud demo`` on the running local cloud: its
refusals and its choice, its output (no empty heading, no client noise),
the commands it prints run again as printed after ``source openrc``, the
README's, and the log lines at ERROR the services wrote meanwhile.
"""

import os
import re
import shlex
import subprocess

from minicloud_lib import cloud
from tests.e2e import base

# ERROR records nova itself writes in this cloud whatever its
# configuration, as (log file, pattern of the record's first line); README
# ("The local cloud") lists the same. None so far: a clean up + demo
# leaves no ERROR record.
NOVA_ERRORS = ()
# A record at ERROR: the first line of oslo.log's (a traceback repeats the
# prefix without the request context), gunicorn's, MariaDB's, RabbitMQ's.
ERROR_RECORD = re.compile(r'^\S+ \S+ \d+ ERROR \S+ \[|\[ERROR\]|\[error\]')
PROMPT = re.compile(r'^\[admin@admin\]\$ (openstack livemig .*)$')


def log_sizes():
    sizes = {}
    for name in sorted(os.listdir(cloud.LOGS)):
        sizes[name] = os.path.getsize(os.path.join(cloud.LOGS, name))
    return sizes


def errors_since(sizes):
    """(log, first line) of every ERROR record written since ``sizes``."""
    found = []
    for name in sorted(os.listdir(cloud.LOGS)):
        with open(os.path.join(cloud.LOGS, name), errors='replace') as f:
            f.seek(sizes.get(name, 0))
            for line in f:
                if ERROR_RECORD.search(line) and not any(
                        name == log and re.search(pattern, line)
                        for log, pattern in NOVA_ERRORS):
                    found.append((name, line.strip()[:300]))
    return found


def run_as_printed(command):
    """Run a shell line after ``source openrc``, from the checkout."""
    return subprocess.run(  # noqa: S603 (the checkout's own tool)
        ['/bin/bash', '-c', 'source %s && %s' % (
            shlex.quote(os.path.join(cloud.HOME, 'openrc')), command)],
        capture_output=True, text=True, timeout=120, cwd=cloud.REPO,
        env={'PATH': '/usr/bin:/bin', 'HOME': os.environ.get('HOME', '/')})


def readme_commands():
    """The shell lines README gives for the local cloud (its demo block)."""
    with open(os.path.join(cloud.REPO, 'README.rst')) as f:
        text = f.read()
    block = text.split('after ``source .minicloud/openrc``, for example::',
                       1)[1].split('\n\n', 2)[1]
    return [line.strip() for line in block.splitlines() if line.strip()]


class TestDemo(base.E2ETestCase):

    timeout = 900

    def setUp(self):
        super().setUp()
        if not self.target.can_run_demo:
            self.skipTest('the demo runs on the local cloud only')

    def test_demo_refuses_by_each_rule_then_chooses_and_explains(self):
        sizes = log_sizes()
        result = subprocess.run(  # noqa: S603 (the checkout's own tool)
            [os.path.join(cloud.REPO, 'tools', 'minicloud'), 'demo'],
            capture_output=True, text=True, timeout=840)
        output = result.stdout + result.stderr
        self.assertEqual(0, result.returncode, output[-4000:])
        self.assertEqual([], errors_since(sizes))

        # Each plugin rule refuses one named move, and says why.
        for rule in ('availability_zone', 'migration_domain',
                     'vacant_resources'):
            self.assertRegex(output, r'WARNING: No destination for '
                             r'live-migration of server db-1 from compute1: '
                             r'1 of 1 hosts rejected; rejections by rule: '
                             + rule + ' rejected 1')
        self.assertEqual(3, output.count('db-1 is still ACTIVE on compute1.'))
        self.assertEqual(4, output.count("Why (nova-scheduler's log):"))
        # The choice between two allowed hosts, with its numbers.
        (moved,) = re.findall(
            r'^db-1 moved from compute1 to (\S+) and is ACTIVE; rank 1 of '
            r'its destinations was (.+)\.$', output, re.M)
        self.assertIn(moved[0], ('compute2', 'compute3'))
        # Two hosts of equal weight share rank 1: either may be chosen.
        self.assertIn(moved[0], moved[1].split(' or '), output[-4000:])
        self.assertEqual(2, len(re.findall(
            r'^  compute[23]: VCPU \d+\+1 of \d+ allowed, MEMORY_MB \d+\+2048 '
            r'of \d+ allowed, DISK_GB \d+\+10 of \d+ allowed; headroom '
            r'after the move -?[\d.]+ \(\w+\)$', output, re.M)), output)
        for server in ('web-1', 'app-1', 'db-1'):
            self.assertRegex(output, r'%s (booted on|\(demo-.\) is on) '
                                     r'compute\d' % server)
        # The client's noise is trimmed.
        self.assertNotIn('Complete, check success/failure', output)
        self.assertNotIn('Client Error for url', output)
        # No heading without something under it: a command, or what was
        # found from an earlier run, between one step and the next.
        steps = re.split(r'^\d+\. ', output, flags=re.M)[1:]
        self.assertEqual(11, len(steps), output)
        # The drain: both servers moved, the host enabled again after it.
        self.assertRegex(output, r'(?m)^compute1 is empty: batch-1 on '
                                 r'compute\d, batch-2 on compute\d$')
        self.assertNotRegex(output, r'batch-\d on compute1')
        # The consolidation empties compute1 (night-1 goes to compute2,
        # which holds more) and disables it; the balance moves a server
        # back.
        used = re.search(r'(?m)^  hosts in use: (\d) -> (\d) \(lower '
                         r'bound (\d)\)$', output)
        self.assertIsNotNone(used, output)
        self.assertEqual(int(used.group(1)) - 1, int(used.group(2)))
        self.assertRegex(output, r'\| compute1 \| .*\| emptied, disabled '
                                 r'\(livemig consolidate: power saving\)')
        self.assertRegex(output, r'\| compute1 \| .*\| took load')
        for step in steps:
            self.assertRegex(step, r'(?m)^\[\w+@[\w-]+\]\$ openstack |'
                                   r'from an earlier run', step)

        # The commands the demo and README print run as printed.
        printed = [m.group(1) for m in map(PROMPT.match,
                                           output.splitlines()) if m]
        self.assertGreater(len(printed), 4)
        # The drain and the consolidation, run again, disable hosts
        # again: enabled after.
        for host in ('compute1', 'compute2', 'compute3'):
            self.addCleanup(run_as_printed, 'openstack compute service set '
                            '--enable %s nova-compute' % host)
        for command in printed + readme_commands():
            ran = run_as_printed(command)
            self.assertEqual(0, ran.returncode,
                             '%s:\n%s%s' % (command, ran.stdout, ran.stderr))
        # What ``up`` suggests, exactly as printed, in a new shell.
        (suggested,) = re.findall(r'^Try: (.*)$', output, re.M)
        ran = subprocess.run(  # noqa: S603 (the line the tool printed)
            ['/bin/bash', '-c', suggested], capture_output=True, text=True,
            timeout=120, env={'PATH': '/usr/bin:/bin'})
        self.assertEqual(0, ran.returncode, ran.stdout + ran.stderr)
        self.assertIn('compute1', ran.stdout)
        help_text = run_as_printed('openstack help livemig').stdout
        for command in ('livemig host list', 'livemig host show',
                        'livemig host server list'):
            self.assertIn(command, help_text)
        self.assert_hosts_match_placement()
