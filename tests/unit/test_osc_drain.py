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

"""``openstack livemig host drain`` on a fake nova and a pinned plan."""

import io
from unittest import mock

from osc_lib import exceptions
from osc_lib.test import base as osc_base

from nova_livemig_ext.osc import compute
from nova_livemig_ext.osc import drain
from nova_livemig_ext.osc import executor
from nova_livemig_ext.osc import progress
from tests.unit import fake_nova


def plan(*moves, host='host1'):
    """A drain plan as GET /os-livemig/hosts/{host}/drain-plan answers."""
    return {'drain_plan': {
        'host': host,
        'feasible': all(m[1] for m in moves),
        'moves': [{'server_id': server_id, 'name': 'vm-' + server_id,
                   'destination': destination,
                   'reasons': list(reasons)}
                  for server_id, destination, *reasons in moves],
        'hosts_after': {}}}


class Terminal(io.StringIO):
    def isatty(self):
        return True


class DrainTest(osc_base.TestCommand):

    def setUp(self):
        super().setUp()
        self.nova = fake_nova.FakeNova(hosts=('host2', 'host3'))
        self.client = mock.Mock()
        self.app.client_manager.livemig = self.client
        self.useFixture_patch(compute, 'Compute',
                              mock.Mock(return_value=self.nova))
        executor_cls = executor.Executor

        def fake_time_executor(nova, **kwargs):
            return executor_cls(nova, clock=self.nova.clock,
                                sleep=self.nova.sleep, **kwargs)
        self.useFixture_patch(executor, 'Executor', fake_time_executor)

    def useFixture_patch(self, module, name, value):
        patcher = mock.patch.object(module, name, value)
        patcher.start()
        self.addCleanup(patcher.stop)

    def drain(self, *args):
        cmd = drain.DrainHost(self.app, None)
        parsed = cmd.get_parser('openstack').parse_args(list(args))
        # cliff adds the formatter option; its default is a table.
        parsed.formatter = getattr(parsed, 'formatter', 'table')
        cmd.exit_code = 0
        columns, rows = cmd.take_action(parsed)
        return cmd.exit_code, [dict(zip(columns, row, strict=True))
                               for row in rows]

    def test_drains_and_disables_the_service_with_the_reason(self):
        for i in (1, 2, 3):
            self.nova.add_server('s%d' % i)
        self.nova.add_server('s4', status='SHUTOFF')
        self.client.get.return_value = plan(
            ('s1', 'host2'), ('s2', 'host3'), ('s3', 'host2'),
            ('s4', 'host3'))
        code, rows = self.drain('host1', '--reason', 'BIOS update')
        self.client.get.assert_called_once_with('/hosts/host1/drain-plan',
                                                move='live-migration')
        self.assertEqual(0, code)
        self.assertEqual('livemig drain: BIOS update',
                         self.nova.disabled_with)
        self.assertEqual(['completed'] * 3 + ['left alone'],
                         [r['Result'] for r in rows])
        self.assertEqual(('host1', ''), (rows[3]['From'], rows[3]['To']))
        self.assertIn('cold-migrated', rows[3]['Detail'])
        # The disable comes before the first move.
        names = [c[0] for c in self.nova.calls]
        self.assertLess(names.index('disable_service'),
                        names.index(compute.LIVE_MIGRATION))

    def test_an_unplaceable_server_refuses_the_plan_and_moves_nothing(self):
        self.nova.add_server('s1')
        self.nova.add_server('s2')
        self.client.get.return_value = plan(
            ('s1', 'host2'),
            ('s2', None, 'host2: MEMORY_MB: requested 4096, allowed 1024'))
        error = self.assertRaises(exceptions.CommandError, self.drain,
                                  'host1')
        self.assertIn('Nothing was moved: no destination for 1 server(s): '
                      'vm-s2 (s2): host2: MEMORY_MB: requested 4096',
                      str(error))
        self.assertEqual([], [c for c in self.nova.calls
                              if c[0] in (compute.LIVE_MIGRATION,
                                          'disable_service')])
        # --dry-run prints it and exits 1, --allow-partial moves the rest.
        code, rows = self.drain('host1', '--dry-run')
        self.assertEqual(1, code)
        self.assertEqual('no destination: host2: MEMORY_MB: requested '
                         '4096, allowed 1024', rows[1]['Note'])
        code, rows = self.drain('host1', '--allow-partial')
        self.assertEqual(0, code)
        self.assertEqual(['completed', 'left alone'],
                         [r['Result'] for r in rows])
        self.assertEqual([(compute.LIVE_MIGRATION, 's1', None)],
                         [c for c in self.nova.calls
                          if c[0] == compute.LIVE_MIGRATION])

    def test_dry_run_changes_nothing(self):
        self.nova.add_server('s1')
        self.client.get.return_value = plan(('s1', 'host2'))
        code, rows = self.drain('host1', '--dry-run')
        self.assertEqual(0, code)
        self.assertEqual([{'ID': 's1', 'Name': 'vm-s1', 'Status': 'ACTIVE',
                           'Kind': 'live-migration', 'Destination': 'host2',
                           'Note': ''}], rows)
        self.assertEqual([], [c for c in self.nova.calls
                              if c[0] != 'server'])

    def test_no_disable_and_an_already_disabled_service(self):
        self.nova.add_server('s1')
        self.client.get.return_value = plan(('s1', 'host2'))
        self.drain('host1', '--no-disable')
        self.assertIsNone(self.nova.disabled_with)
        self.nova.service.update(status='disabled',
                                 disabled_reason='the operator\'s')
        self.drain('host1')
        self.assertIsNone(self.nova.disabled_with)

    def test_a_failed_move_makes_the_exit_code_one(self):
        self.nova.add_server('s1')
        self.nova.add_server('s2')
        self.nova.script['s1'] = (1, 'error')
        self.client.get.return_value = plan(('s1', 'host2'),
                                            ('s2', 'host3'))
        code, rows = self.drain('host1', '--follow-plan')
        self.assertEqual(1, code)
        self.assertEqual(['failed', 'completed'],
                         [r['Result'] for r in rows])
        self.assertEqual('host3', rows[1]['To'])

    def test_evacuate_is_refused_while_the_service_is_up(self):
        error = self.assertRaises(exceptions.CommandError, self.drain,
                                  'host1', '--evacuate')
        self.assertIn('The compute service of host1 is up: its servers can '
                      'be live-migrated (drop --evacuate)', str(error))
        self.client.get.assert_not_called()
        self.nova.service['state'] = 'down'
        error = self.assertRaises(exceptions.CommandError, self.drain,
                                  'host1')
        self.assertIn('is down: its servers cannot be live-migrated. If '
                      'the host has failed, evacuate them: openstack '
                      'livemig host drain host1 --evacuate', str(error))

    def test_evacuates_a_host_that_is_down(self):
        self.nova.service.update(state='up', forced_down=True)
        self.nova.add_server('s1')
        self.nova.add_server('s2', status='SHUTOFF')
        self.client.get.return_value = plan(('s1', 'host2'),
                                            ('s2', 'host3'))
        code, rows = self.drain('host1', '--evacuate')
        self.assertEqual(0, code)
        self.assertEqual([('evacuation', 'completed')] * 2,
                         [(r['Kind'], r['Result']) for r in rows])
        self.assertEqual([(compute.EVACUATION, 's1', None),
                          (compute.EVACUATION, 's2', None)],
                         [c for c in self.nova.calls
                          if c[0] == compute.EVACUATION])

    def test_max_concurrent_is_checked(self):
        self.assertRaises(exceptions.CommandError, self.drain, 'host1',
                          '--max-concurrent', '0')

    def test_run_prints_plan_and_results_and_returns_the_exit_code(self):
        self.nova.add_server('s1')
        self.nova.add_server('s2')
        self.nova.script['s2'] = (1, 'error')
        self.client.get.return_value = plan(('s1', 'host2'),
                                            ('s2', 'host3'))
        self.app.stdout = io.StringIO()
        cmd = drain.DrainHost(self.app, None)
        parsed = cmd.get_parser('openstack').parse_args(['host1'])
        self.assertEqual(1, cmd.run(parsed))
        out = self.app.stdout.getvalue()
        self.assertIn('Plan to drain host1:\nID  Name   Status  Kind', out)
        self.assertIn('Disabled the compute service of host1: livemig '
                      'drain: maintenance', out)
        self.assertRegex(out, r'\| s1 +\| vm-s1 +\| live-migration \| '
                              r'host1 +\| host2 +\| completed')
        self.assertRegex(out, r'\| s2 .*\| failed ')
        # Not a terminal: no progress bar.
        self.assertNotIn('in flight', out)
        self.nova.script['s2'] = (1, 'completed')
        self.assertEqual(0, cmd.run(parsed))


class ProgressTest(osc_base.TestCommand):

    def test_a_bar_only_on_a_terminal_as_a_table(self):
        log = mock.Mock()
        self.assertIsInstance(progress.for_command(Terminal(), 'table', log,
                                                   'Draining host1'),
                              progress.BarProgress)
        for stream, formatter in ((io.StringIO(), 'table'),
                                  (Terminal(), 'json')):
            self.assertIsInstance(
                progress.for_command(stream, formatter, log, 'x'),
                progress.LogProgress)

    def test_the_bar_runs(self):
        out = Terminal()
        bar = progress.BarProgress(out, 'Draining host1')
        bar.start(2)
        move = executor.Move('s1', 'web', 'host1')
        bar.event(move, 'started')
        bar.update(1, 1)
        bar.stop()
        self.assertIn('web: started', out.getvalue())
        self.assertIn('Draining host1', out.getvalue())
