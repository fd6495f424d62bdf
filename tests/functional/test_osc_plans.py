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

"""``openstack livemig consolidate`` and ``balance`` on nova's cloud.

The commands read the real plans, disable the real compute services and
make the moves through nova's API at 2.68 naming each planned host (never
forced), nova's scheduler with this package's filter judging each.
"""

from osc_lib.test import fakes as osc_fakes

from nova_livemig_ext.osc import balance
from nova_livemig_ext.osc import consolidate
from nova_livemig_ext.osc import plugin
from tests.functional import base
from tests.functional import test_osc_drain

LAYOUT = test_osc_drain.LAYOUT
NFS_A = ('host1', 'host2', 'host5')


class PlanCommandTestBase(base.LivemigApiTestBase):

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)
        self.app = osc_fakes.FakeApp(osc_fakes.FakeStdout(),
                                     osc_fakes.FakeLog())
        self.app.client_manager = osc_fakes.FakeClientManager()
        self.endpoint = test_osc_drain.ComputeEndpoint(self.admin_api)
        self.app.client_manager.livemig = plugin.Client(self.endpoint)
        self.useFixture(base.fixtures.MonkeyPatch(
            'nova_livemig_ext.osc.executor.POLL_SECONDS', 0.1))

    def run_command(self, command, *args):
        """(exit code, {host: row}) of one run of ``command``."""
        cmd = command(self.app, None)
        parsed = cmd.get_parser('openstack').parse_args(list(args))
        cmd.exit_code = 0
        columns, rows = cmd.take_action(parsed)
        return cmd.exit_code, {row[0]: dict(zip(columns, row, strict=True))
                               for row in rows}

    def service(self, host):
        return self.admin_api.get_services(host=host,
                                           binary='nova-compute')[0]

    def servers_on(self, host):
        return [s for s in self.admin_api.get_servers(
            search_opts={'all_tenants': 1})
            if s['OS-EXT-SRV-ATTR:host'] == host]


class ConsolidateCommandTest(PlanCommandTestBase):

    def test_dry_run_then_consolidate_and_disable(self):
        servers = [self.boot(self.small, host) for host in NFS_A]
        code, rows = self.run_command(consolidate.Consolidate,
                                      '--availability-zone', 'az1',
                                      '--dry-run', '-f', 'json')
        self.assertEqual(0, code)
        self.assertEqual([], self.endpoint.moves)
        to_empty = sorted(h for h, r in rows.items()
                          if r['Status'].startswith('to empty'))
        # host3 (nfs-b) is empty: the three servers of nfs-a go to one host.
        self.assertEqual(2, len(to_empty))
        for host in to_empty:
            self.assertEqual(0, rows[host]['Servers after'])
        code, rows = self.run_command(
            consolidate.Consolidate, '--availability-zone', 'az1',
            '--disable-emptied', '--reason', 'night', '--max-concurrent',
            '2')
        self.assertEqual(0, code, rows)
        # Each move named its planned host, at 2.68.
        self.assertEqual(2, len(self.endpoint.moves))
        self.assertEqual({'2.68'}, {m[2] for m in self.endpoint.moves})
        for host in to_empty:
            self.assertEqual([], self.servers_on(host))
            service = self.service(host)
            self.assertEqual(('disabled', 'livemig consolidate: night'),
                             (service['status'], service['disabled_reason']))
            self.assertTrue(rows[host]['Status'].startswith('emptied'),
                            rows[host])
        kept = set(NFS_A) - set(to_empty)
        for server in servers:
            found = self.admin_api.get_server(server['id'])
            self.assertEqual('ACTIVE', found['status'])
            self.assertIn(found['OS-EXT-SRV-ATTR:host'], kept)
        self.assertEqual('enabled', self.service(kept.pop())['status'])
        out = self.app.stdout.make_string()
        self.assertIn('hosts in use: 3 -> 1 (lower bound 1)', out)
        # Run again: nothing left to do.
        code, rows = self.run_command(consolidate.Consolidate,
                                      '--availability-zone', 'az1')
        self.assertEqual(0, code)
        self.assertEqual(2, len(self.endpoint.moves))

    def test_unknown_zone_is_an_error(self):
        from osc_lib import exceptions
        error = self.assertRaises(
            exceptions.CommandError, self.run_command,
            consolidate.Consolidate, '--availability-zone', 'nowhere')
        self.assertIn('No availability zone named nowhere', str(error))


class BalanceCommandTest(PlanCommandTestBase):

    def test_moves_off_the_busiest_host(self):
        busy = [self.boot(self.medium, 'host1') for _ in range(3)]
        code, rows = self.run_command(balance.Balance, '--availability-zone',
                                      'az1', '--max-moves', '2', '-f',
                                      'json')
        self.assertEqual(0, code, rows)
        self.assertEqual(2, len(self.endpoint.moves))
        self.assertEqual(1, len(self.servers_on('host1')))
        self.assertLess(rows['host1']['After'], rows['host1']['Before'])
        for server in busy:
            found = self.admin_api.get_server(server['id'])
            self.assertEqual('ACTIVE', found['status'])
            self.assertIn(found['OS-EXT-SRV-ATTR:host'], NFS_A)
