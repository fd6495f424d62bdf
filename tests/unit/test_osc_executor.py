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

"""The executor against a fake nova: concurrency, resume, Ctrl-C, errors."""

import testtools

from nova_livemig_ext.osc import compute
from nova_livemig_ext.osc import executor
from tests.unit import fake_nova


class Recorder(executor.Progress):
    def __init__(self):
        self.events = []
        self.updates = []

    def event(self, move, text):
        self.events.append((move.server_id if move else None, text))

    def update(self, done, in_flight):
        self.updates.append((done, in_flight))


class ExecutorTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.nova = fake_nova.FakeNova(hosts=('host2', 'host3', 'host4'))
        self.progress = Recorder()

    def servers(self, count, **kwargs):
        return [self.nova.add_server('s%d' % i, **kwargs)
                for i in range(1, count + 1)]

    def moves(self, kind=compute.LIVE_MIGRATION):
        return [executor.Move(s['id'], s['name'], 'host1', 'host3', kind)
                for s in sorted(self.nova.servers.values(),
                                key=lambda s: s['id'])
                if s['host'] == 'host1']

    def run_moves(self, moves=None, **kwargs):
        kwargs.setdefault('progress', self.progress)
        self.executor = executor.Executor(
            self.nova, clock=self.nova.clock, sleep=self.nova.sleep,
            poll_seconds=1, **kwargs)
        outcomes = self.executor.run(self.moves() if moves is None
                                     else moves)
        return {o.move.server_id: o for o in outcomes}

    def results(self, outcomes):
        return {k: o.result for k, o in outcomes.items()}

    def moved(self):
        return [c[1] for c in self.nova.calls
                if c[0] in (compute.LIVE_MIGRATION, compute.EVACUATION)]

    def test_in_flight_never_exceeds_the_limit(self):
        self.servers(7)
        # Moves of different lengths end out of order.
        for i, steps in enumerate((3, 1, 4, 1, 5, 2, 2), 1):
            self.nova.script['s%d' % i] = (steps, 'completed')
        for limit in (1, 2, 3):
            for server in self.nova.servers.values():
                server['host'] = 'host1'
            self.nova.records = []
            self.nova.max_in_flight = 0
            outcomes = self.run_moves(max_concurrent=limit)
            self.assertEqual(limit, self.nova.max_in_flight)
            self.assertEqual({executor.COMPLETED},
                             set(self.results(outcomes).values()))
            self.assertEqual(0, executor.exit_code(outcomes.values()))
            self.assertTrue(all(in_flight <= limit for _, in_flight
                                in self.progress.updates))
        # In the plan's order; the scheduler chooses (no host named).
        self.assertEqual([(compute.LIVE_MIGRATION, 's%d' % i, None)
                          for i in range(1, 8)],
                         [c for c in self.nova.calls
                          if c[0] == compute.LIVE_MIGRATION][-7:])

    def test_follow_plan_names_the_planned_host(self):
        self.servers(2)
        outcomes = self.run_moves(follow_plan=True)
        self.assertEqual([(compute.LIVE_MIGRATION, 's1', 'host3'),
                          (compute.LIVE_MIGRATION, 's2', 'host3')],
                         [c for c in self.nova.calls
                          if c[0] == compute.LIVE_MIGRATION])
        self.assertEqual(('host3', 'migration 1 completed'),
                         (outcomes['s1'].host, outcomes['s1'].detail))

    def test_a_failure_does_not_stop_the_others(self):
        self.servers(4)
        self.nova.script['s2'] = (1, 'error')
        self.nova.refuse['s3'] = 'Cannot live-migrate (HTTP 409)'
        outcomes = self.run_moves(max_concurrent=2)
        self.assertEqual({'s1': 'completed', 's2': 'failed',
                          's3': 'failed', 's4': 'completed'},
                         self.results(outcomes))
        self.assertEqual('migration 2 ended error; server ACTIVE on host1',
                         outcomes['s2'].detail)
        self.assertEqual('nova refused: Cannot live-migrate (HTTP 409)',
                         outcomes['s3'].detail)
        self.assertEqual(1, executor.exit_code(outcomes.values()))
        # Nothing is lost: every server ACTIVE, on its source or moved.
        self.assertEqual(['ACTIVE'] * 4, [s['status'] for s in
                                          self.nova.servers.values()])

    def test_stop_on_error_starts_no_more(self):
        self.servers(5)
        self.nova.script['s1'] = (1, 'error')
        self.nova.script['s2'] = (3, 'completed')
        outcomes = self.run_moves(max_concurrent=2, stop_on_error=True)
        # s2 was in flight when s1 failed: it is followed to its end.
        self.assertEqual({'s1': 'failed', 's2': 'completed',
                          's3': 'not started', 's4': 'not started',
                          's5': 'not started'}, self.results(outcomes))
        self.assertEqual(['s1', 's2'], self.moved())
        self.assertEqual('not started: vm-s1 failed (--stop-on-error)',
                         outcomes['s3'].detail)
        self.assertEqual(1, executor.exit_code(outcomes.values()))

    def test_resume_skips_gone_servers_and_follows_moves_in_progress(self):
        self.servers(4)
        moves = self.moves()
        # An earlier run: s1 has left, s2 is being moved (a running
        # migration), s3's migration failed once (it is tried again).
        self.nova.servers['s1']['host'] = 'host2'
        self.nova.add_migration('s3', compute.LIVE_MIGRATION, 'error')
        self.nova.add_migration('s2', compute.LIVE_MIGRATION, 'running',
                                dest='host4', steps=2)
        del self.nova.servers['s4']
        outcomes = self.run_moves(moves)
        self.assertEqual({'s1': 'skipped', 's2': 'completed',
                          's3': 'completed', 's4': 'skipped'},
                         self.results(outcomes))
        self.assertEqual(('host2', 'no longer on host1'),
                         (outcomes['s1'].host, outcomes['s1'].detail))
        self.assertEqual('deleted', outcomes['s4'].detail)
        # s2's move was waited for, not asked for again.
        self.assertEqual(['s3'], self.moved())
        self.assertEqual(('host4', 'migration 2 completed'),
                         (outcomes['s2'].host, outcomes['s2'].detail))
        self.assertIn(('s2', 'following the live-migration already in '
                             'progress'), self.progress.events)
        self.assertEqual('migration 3 completed', outcomes['s3'].detail)

    def test_resume_on_task_state_alone(self):
        # nova's API set the task_state; its conductor has not yet
        # written the migration record.
        server = self.nova.add_server('s1', task_state='migrating')
        moves = self.moves()

        def conductor(seconds, sleep=self.nova.sleep):
            sleep(seconds)
            if self.nova.ticks == 2:
                server.update(task_state=None, host='host2')
        self.nova.sleep = conductor
        outcomes = self.run_moves(moves)
        self.assertEqual(('completed', 'host2'),
                         (outcomes['s1'].result, outcomes['s1'].host))
        self.assertEqual([], self.moved())

    def test_only_active_and_paused_servers_are_live_migrated(self):
        self.nova.add_server('s1', status='SHUTOFF')
        self.nova.add_server('s2', status='PAUSED')
        self.nova.add_server('s3', status='ERROR')
        self.nova.add_server('s4', task_state='resize_prep')
        outcomes = self.run_moves()
        self.assertEqual({'s1': 'left alone', 's2': 'completed',
                          's3': 'left alone', 's4': 'left alone'},
                         self.results(outcomes))
        self.assertIn('it can be cold-migrated (openstack server migrate), '
                      'not done unasked', outcomes['s1'].detail)
        self.assertEqual('status ERROR: nova cannot live-migrate it',
                         outcomes['s3'].detail)
        self.assertEqual('busy: task_state resize_prep',
                         outcomes['s4'].detail)
        self.assertEqual(['s2'], self.moved())
        # Left alone is not a failure.
        self.assertEqual(0, executor.exit_code(outcomes.values()))

    def test_ctrl_c_starts_no_more_and_waits_for_those_in_flight(self):
        self.servers(5)
        self.nova.script['s1'] = (3, 'completed')
        self.nova.script['s2'] = (3, 'completed')
        self.nova.interrupt_at[1] = KeyboardInterrupt()
        outcomes = self.run_moves(max_concurrent=2)
        self.assertEqual({'s1': 'completed', 's2': 'completed',
                          's3': 'not started', 's4': 'not started',
                          's5': 'not started'}, self.results(outcomes))
        self.assertEqual(['s1', 's2'], self.moved())
        self.assertIn((None, 'Interrupted: no more moves start; waiting for '
                             'the 2 in flight (Ctrl-C again to stop '
                             'waiting).'), self.progress.events)
        self.assertEqual('not started: interrupted', outcomes['s3'].detail)
        self.assertEqual(1, executor.exit_code(outcomes.values(),
                                               self.executor.interrupted))

    def test_second_ctrl_c_names_the_moves_still_running(self):
        self.servers(3)
        self.nova.script['s1'] = (5, 'completed')
        self.nova.script['s2'] = (1, 'completed')
        self.nova.interrupt_at[1] = KeyboardInterrupt()
        self.nova.interrupt_at[2] = KeyboardInterrupt()
        outcomes = self.run_moves(max_concurrent=2)
        self.assertEqual({'s1': 'still running', 's2': 'completed',
                          's3': 'not started'}, self.results(outcomes))
        self.assertEqual('nova is still moving it (migration 1, running); '
                         'run again to follow it', outcomes['s1'].detail)
        self.assertEqual(1, executor.exit_code(outcomes.values()))

    def test_ctrl_c_while_a_move_is_being_asked_for_follows_it(self):
        self.servers(2)
        real = self.nova.live_migrate

        def asked_then_interrupted(server_id, host=None):
            real(server_id, host)
            raise KeyboardInterrupt()
        self.nova.live_migrate = asked_then_interrupted
        outcomes = self.run_moves(max_concurrent=1)
        self.assertEqual({'s1': 'completed', 's2': 'not started'},
                         self.results(outcomes))

    def test_a_move_past_the_timeout_stops_the_run(self):
        self.servers(3)
        self.nova.script['s1'] = (50, 'completed')
        outcomes = self.run_moves(max_concurrent=2, timeout=10)
        self.assertEqual({'s1': 'still running', 's2': 'completed',
                          's3': 'completed'}, self.results(outcomes))
        self.assertIn('did not end within 10 s', outcomes['s1'].detail)
        self.assertEqual(1, executor.exit_code(outcomes.values()))
        self.nova.script['s1'] = (50, 'completed')
        self.nova.script['s2'] = (50, 'completed')
        for s in ('s2', 's3'):
            self.nova.servers[s]['host'] = 'host1'
        self.nova.records = []
        outcomes = self.run_moves(max_concurrent=2, timeout=10)
        self.assertEqual({'s1': 'still running', 's2': 'still running',
                          's3': 'not started'}, self.results(outcomes))

    def test_without_waiting_the_last_moves_are_left_in_progress(self):
        self.servers(3)
        outcomes = self.run_moves(max_concurrent=2, wait=False)
        self.assertEqual(['s1', 's2', 's3'], self.moved())
        self.assertEqual('completed', outcomes['s1'].result)
        self.assertEqual({'in progress'}, {outcomes['s2'].result,
                                           outcomes['s3'].result}
                         - {'completed'})
        self.assertEqual(0, executor.exit_code(outcomes.values()))

    def test_evacuation(self):
        self.servers(2)
        self.nova.add_server('s3', status='SHUTOFF')
        self.nova.add_server('s4', status='PAUSED')
        self.nova.script['s2'] = (1, 'error')
        outcomes = self.run_moves(self.moves(compute.EVACUATION),
                                  follow_plan=True)
        self.assertEqual({'s1': 'completed', 's2': 'failed',
                          's3': 'completed', 's4': 'left alone'},
                         self.results(outcomes))
        # Evacuations never name a host.
        self.assertEqual(
            [(compute.EVACUATION, s, None) for s in ('s1', 's2', 's3')],
            [c for c in self.nova.calls if c[0] == compute.EVACUATION])
        # nova put s2 in ERROR when it found no host: it is set back.
        self.assertIn(('reset_state', 's2', 'active'), self.nova.calls)
        self.assertEqual('ACTIVE', self.nova.servers['s2']['status'])
        self.assertIn('its state was reset to ACTIVE',
                      outcomes['s2'].detail)

    def test_at_least_one_in_flight(self):
        self.assertRaises(ValueError, executor.Executor, self.nova,
                          max_concurrent=0)

    def test_a_move_that_changes_the_server_state_is_a_failure(self):
        # nova from 2.95 stops evacuated servers: not what was asked.
        self.servers(1)
        real = self.nova.sleep

        def stopped_on_arrival(seconds):
            real(seconds)
            server = self.nova.servers['s1']
            if server['host'] != 'host1':
                server['status'] = 'SHUTOFF'
        self.nova.sleep = stopped_on_arrival
        outcomes = self.run_moves(self.moves(compute.EVACUATION))
        self.assertEqual(('failed', 'migration 1 done, but the server is '
                          'SHUTOFF (it was ACTIVE)'),
                         (outcomes['s1'].result, outcomes['s1'].detail))


class DependencyTest(testtools.TestCase):
    """A move onto a host waits for the earlier move that leaves it."""

    def setUp(self):
        super().setUp()
        self.nova = fake_nova.FakeNova()
        self.progress = Recorder()
        self.asked = {}
        real = self.nova.live_migrate

        def live_migrate(server_id, host=None):
            # What nova had done with the other moves when this one came.
            self.asked[server_id] = (self.nova.ticks, {
                m['instance_uuid']: m['status'] for m in self.nova.records})
            real(server_id, host)
        self.nova.live_migrate = live_migrate

    def run_moves(self, *moves, **kwargs):
        planned = []
        for server_id, source, destination in moves:
            self.nova.add_server(server_id, host=source)
            planned.append(executor.Move(server_id, 'vm-' + server_id,
                                         source, destination))
        outcomes = executor.Executor(
            self.nova, follow_plan=True, clock=self.nova.clock,
            sleep=self.nova.sleep, poll_seconds=1, progress=self.progress,
            **kwargs).run(planned)
        return {o.move.server_id: o for o in outcomes}

    def test_a_move_onto_a_host_waits_for_the_move_leaving_it(self):
        self.nova.script['A'] = (3, 'completed')
        outcomes = self.run_moves(('A', 'h1', 'h2'), ('B', 'h2', 'h3'),
                                  ('C', 'h4', 'h1'), max_concurrent=3)
        self.assertEqual({'A': 'completed', 'B': 'completed',
                          'C': 'completed'},
                         {k: o.result for k, o in outcomes.items()})
        # A and B at once (B's destination h3 is left by no move); C
        # only once A has left h1.
        self.assertEqual(0, self.asked['A'][0])
        self.assertEqual(0, self.asked['B'][0])
        self.assertEqual(3, self.asked['C'][0])
        self.assertEqual('completed', self.asked['C'][1]['A'])
        self.assertEqual(['A', 'B', 'C'], [c[1] for c in self.nova.calls
                                           if c[0] == compute.LIVE_MIGRATION])
        self.assertIn(('C', 'waits for vm-A to leave h1'),
                      self.progress.events)
        self.assertEqual({'A': 'h2', 'B': 'h3', 'C': 'h1'},
                         {k: o.host for k, o in outcomes.items()})

    def test_moves_that_wait_for_nothing_start_meanwhile(self):
        self.nova.script['A'] = (4, 'completed')
        self.nova.script['B'] = (4, 'completed')
        outcomes = self.run_moves(('A', 'h1', 'h2'), ('B', 'h3', 'h4'),
                                  ('C', 'h5', 'h1'), ('D', 'h6', 'h7'),
                                  ('E', 'h8', 'h9'), max_concurrent=3)
        self.assertEqual({'completed'},
                         {o.result for o in outcomes.values()})
        # C waits for A; D takes its turn, so three are in flight at once,
        # never more.
        self.assertEqual(3, self.nova.max_in_flight)
        self.assertEqual(0, self.asked['D'][0])
        self.assertEqual('completed', self.asked['C'][1]['A'])
        self.assertEqual(['A', 'B', 'D', 'E', 'C'],
                         [c[1] for c in self.nova.calls
                          if c[0] == compute.LIVE_MIGRATION])

    def test_a_failed_prerequisite_does_not_keep_the_move_back(self):
        self.nova.script['A'] = (2, 'error')
        self.nova.refuse['C'] = 'No valid host was found (HTTP 400)'
        outcomes = self.run_moves(('A', 'h1', 'h2'), ('C', 'h4', 'h1'),
                                  max_concurrent=2)
        # C is asked for once A has ended: nova's scheduler judges it.
        self.assertEqual('error', self.asked['C'][1]['A'])
        self.assertEqual(('failed', 'failed'),
                         (outcomes['A'].result, outcomes['C'].result))
        self.assertEqual('nova refused: No valid host was found (HTTP 400)',
                         outcomes['C'].detail)
        self.assertEqual(1, executor.exit_code(outcomes.values()))

    def test_a_chain_runs_one_after_the_other(self):
        # Each move lands on the host the one before it leaves.
        outcomes = self.run_moves(('A', 'h1', 'h2'), ('B', 'h3', 'h1'),
                                  ('C', 'h4', 'h3'), max_concurrent=3)
        self.assertEqual({'completed'},
                         {o.result for o in outcomes.values()})
        self.assertEqual(1, self.nova.max_in_flight)
        self.assertEqual('completed', self.asked['B'][1]['A'])
        self.assertEqual('completed', self.asked['C'][1]['B'])

    def test_a_move_leaving_later_does_not_hold_an_earlier_one(self):
        # Only earlier moves are waited for: a swap does not deadlock.
        outcomes = self.run_moves(('A', 'h1', 'h2'), ('B', 'h2', 'h1'),
                                  max_concurrent=2)
        self.assertEqual({'completed'},
                         {o.result for o in outcomes.values()})
        self.assertEqual(0, self.asked['A'][0])
        self.assertEqual('completed', self.asked['B'][1]['A'])
