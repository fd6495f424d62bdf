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

"""``openstack livemig consolidate`` and ``balance`` on a fake nova.

The plans are pinned (as the API would answer them); the fake livemig
client answers ``GET /os-livemig/hosts`` from the fake nova's servers, so
that what the commands read again after the moves is what the moves did.
"""

import io
import json
from unittest import mock

from osc_lib import exceptions
from osc_lib.test import base as osc_base

from nova_livemig_ext.osc import balance
from nova_livemig_ext.osc import compute
from nova_livemig_ext.osc import consolidate
from nova_livemig_ext.osc import executor
from nova_livemig_ext.osc import plans
from tests.unit import fake_nova

GIB = 1024
CAPACITY = {'VCPU': 16, 'MEMORY_MB': 10 * GIB}
# server id -> (host, RAM MB); one VCPU each.
SERVERS = {'a': ('h1', 2 * GIB), 'b': ('h2', 2 * GIB), 'c': ('h2', 2 * GIB),
           'd': ('h3', 4 * GIB), 'e': ('h4', 4 * GIB)}
HOSTS = ('h1', 'h2', 'h3', 'h4')


def demand(server_id):
    return {'VCPU': 1, 'MEMORY_MB': SERVERS[server_id][1], 'DISK_GB': 0}


def move(order, server_id, source, destination, why):
    return {'order': order, 'server_id': server_id,
            'name': 'vm-' + server_id, 'source': source,
            'destination': destination, 'why': why,
            'demand': demand(server_id)}


def host_entry(host, before, after, servers_before, servers_after,
               disabled=False):
    return {'host': host, 'utilization_before': before,
            'utilization_after': after, 'servers_before': servers_before,
            'servers_after': servers_after, 'disabled': disabled}


def consolidation_plan():
    """Empty h1 into h2 and h3 into h4; one server left out."""
    return {'consolidation_plan': {
        'scope': {'availability_zone': 'az1', 'aggregate': None,
                  'hosts': list(HOSTS)},
        'moves': [move(2, 'd', 'h3', 'h4', 'empties h3'),
                  move(1, 'a', 'h1', 'h2', 'empties h1')],
        'hosts_emptied': ['h1', 'h3'],
        'hosts_in_use_before': 4, 'hosts_in_use_after': 2,
        'lower_bound': 2,
        'unplanned': [{'server_id': 'e', 'name': 'vm-e', 'host': 'h4',
                       'reasons': ['anti-affinity with vm-d']}],
        'hosts': [host_entry('h1', 0.2, 0.0, 1, 0),
                  host_entry('h2', 0.4, 0.6, 2, 3),
                  host_entry('h3', 0.4, 0.0, 1, 0),
                  host_entry('h4', 0.4, 0.8, 1, 2)],
        'ram_moved_mb': 6 * GIB, 'measure': 'allocation+cpu',
        'cpu_limit': 0.8, 'freshness': {'source': 'placement'}}}


def balance_plan(measure='allocation'):
    """Move c from h2 to h1."""
    return {'balance_plan': {
        'scope': {'availability_zone': None, 'aggregate': 'rack1',
                  'hosts': list(HOSTS)},
        'measure': measure,
        'freshness': {'source': 'compute monitors', 'oldest_seconds': 42},
        'moves': [move(1, 'c', 'h2', 'h1',
                       'relieves h2, the most utilized')],
        'hosts': [host_entry('h1', 0.55, 0.65, 1, 2),
                  host_entry('h2', 0.9, 0.6, 2, 1),
                  host_entry('h3', 0.4, 0.4, 1, 1),
                  host_entry('h4', 0.4, 0.4, 1, 1)],
        'spread_before': 0.34, 'spread_after': 0.14,
        'unmeasured': ['h4'], 'unplanned': []}}


class FakeLivemig:
    """The os-livemig client: pinned plans, hosts from the fake nova."""

    def __init__(self, nova):
        self.nova = nova
        self.plans = {}
        self.calls = []
        self.hosts_error = None

    def get(self, path, **params):
        self.calls.append((path, {k: v for k, v in params.items()
                                  if v is not None}))
        return self.plans[path]

    def get_all(self, path, collection, **params):
        self.calls.append((path, {k: v for k, v in params.items()
                                  if v is not None}))
        if self.hosts_error:
            raise exceptions.CommandError(self.hosts_error)
        entries = []
        for host in HOSTS:
            on = [s for s in self.nova.servers.values() if s['host'] == host]
            service = self.nova.services[host]
            entries.append({
                'host': host, 'instances': len(on),
                'service': {'status': service['status'],
                            'disabled_reason': service['disabled_reason'],
                            'state': service['state']},
                'resources': {rc: {'capacity': amount,
                                   'used': sum(demand(s['id'])[rc]
                                               for s in on)}
                              for rc, amount in CAPACITY.items()}})
        return entries, {collection: entries}


class PlanCommandTest(osc_base.TestCommand):

    def setUp(self):
        super().setUp()
        self.nova = fake_nova.FakeNova()
        for host in HOSTS:
            self.nova.add_service(host)
        for server_id, (host, _ram) in SERVERS.items():
            self.nova.add_server(server_id, host=host)
        self.client = FakeLivemig(self.nova)
        self.client.plans['/consolidation-plan'] = consolidation_plan()
        self.client.plans['/balance-plan'] = balance_plan()
        self.app.client_manager.livemig = self.client
        self.app.stdout = io.StringIO()
        self.patch(compute, 'Compute', mock.Mock(return_value=self.nova))
        executor_cls = executor.Executor

        def fake_time_executor(nova, **kwargs):
            return executor_cls(nova, clock=self.nova.clock,
                                sleep=self.nova.sleep, **kwargs)
        self.patch(executor, 'Executor', fake_time_executor)

    def patch(self, module, name, value):
        patcher = mock.patch.object(module, name, value)
        patcher.start()
        self.addCleanup(patcher.stop)

    def command(self, cls, *args):
        cmd = cls(self.app, None)
        parsed = cmd.get_parser('openstack').parse_args(list(args))
        return cmd, parsed

    def take(self, cls, *args):
        """Exit code and rows by column, as -f json would give them."""
        cmd, parsed = self.command(cls, *args)
        cmd.exit_code = 0
        columns, rows = cmd.take_action(parsed)
        self.assertEqual(plans.HOST_COLUMNS, columns)
        return cmd.exit_code, {
            row[0]: {c: getattr(v, 'machine_readable', lambda v=v: v)()
                     for c, v in zip(columns, row, strict=True)}
            for row in rows}

    def run_command(self, cls, *args):
        """Exit code and output of the whole command."""
        cmd, parsed = self.command(cls, *args)
        code = cmd.run(parsed)
        return code, self.app.stdout.getvalue()

    def moves_asked(self):
        return [c[1:] for c in self.nova.calls
                if c[0] == compute.LIVE_MIGRATION]

    def changes(self):
        return [c for c in self.nova.calls
                if c[0] in (compute.LIVE_MIGRATION, 'disable_service')]


class BarTest(osc_base.TestCommand):

    def test_bars(self):
        self.assertEqual('░' * 20 + '   0%', plans.bar(0.0))
        self.assertEqual('█' * 8 + '░' * 12 + '  41%', plans.bar(0.41))
        self.assertEqual('█' * 20 + ' 100%', plans.bar(1.0))
        # Overcommit: the bar is full, the percentage as it is.
        self.assertEqual('█' * 20 + ' 130%', plans.bar(1.3))

    def test_the_column_is_a_bar_for_people_a_number_for_programs(self):
        column = plans.Utilization(0.41)
        self.assertEqual(plans.bar(0.41), column.human_readable())
        self.assertEqual(0.41, column.machine_readable())
        self.assertEqual('-', plans.Utilization(None).human_readable())

    def test_host_utilization_is_the_tightest_class(self):
        self.assertEqual(0.75, plans.host_utilization({'resources': {
            'VCPU': {'capacity': 16, 'used': 4},
            'MEMORY_MB': {'capacity': 8192, 'used': 6144},
            'DISK_GB': {'capacity': 0, 'used': 0}}}))
        self.assertEqual(0.0, plans.host_utilization({'resources': {}}))


class ConsolidateTest(PlanCommandTest):

    def test_dry_run_prints_the_summary_and_changes_nothing(self):
        code, out = self.run_command(consolidate.Consolidate, '--dry-run',
                                     '--availability-zone', 'az1')
        self.assertEqual(0, code)
        self.assertEqual([], self.changes())
        self.assertEqual(('/consolidation-plan',
                          {'availability_zone': 'az1'}), self.client.calls[0])
        for text in ('Consolidation plan for zone az1, aggregate any, '
                     '4 hosts',
                     'hosts in use: 4 -> 2 (lower bound 2)',
                     'hosts to empty: h1, h3',
                     'RAM moved: 6.0 GiB',
                     'measure: allocation+cpu (CPU limit 80%)',
                     'Servers the plan leaves where they are:',
                     'anti-affinity with vm-d'):
            self.assertIn(text, out)
        # The moves in the plan's order, then the planned host view.
        self.assertRegex(out, r'Moves, in order:\nOrder +ID +Name +From +To '
                              r'+Why\n +1 +a +vm-a +h1 +h2 +empties h1\n'
                              r' +2 +d +vm-d +h3 +h4 +empties h3')
        self.assertRegex(out, r'\| h1 +\| ' + '█' * 4 + '░' * 16 +
                              r' +20% \| ' + '░' * 20 + r' +0% \| +1 \| +0 '
                              r'\| +0 \| +1 \| +\| to empty')
        self.assertNotIn('Moves made', out)

    def test_disable_emptied_disables_the_emptied_hosts_first(self):
        self.nova.services['h3'].update(status='disabled',
                                        disabled_reason='the operator\'s')
        code, rows = self.take(consolidate.Consolidate, '--disable-emptied')
        self.assertEqual(0, code)
        # Exactly h1 (h3 was disabled already), before the first move.
        self.assertEqual(
            [('disable_service', self.nova.services['h1']['id'],
              'livemig consolidate: power saving'),
             (compute.LIVE_MIGRATION, 'a', 'h2'),
             (compute.LIVE_MIGRATION, 'd', 'h4')], self.changes())
        self.assertEqual('the operator\'s',
                         self.nova.services['h3']['disabled_reason'])
        self.assertEqual(
            {'h1': 'emptied, disabled (livemig consolidate: power saving)',
             'h2': 'kept', 'h3': 'emptied, disabled (the operator\'s)',
             'h4': 'kept'}, {h: r['Status'] for h, r in rows.items()})

    def test_the_reason_is_recorded(self):
        self.take(consolidate.Consolidate, '--disable-emptied', '--reason',
                  'night')
        self.assertEqual('livemig consolidate: night',
                         self.nova.services['h1']['disabled_reason'])
        self.assertEqual('livemig consolidate: night',
                         self.nova.services['h3']['disabled_reason'])

    def test_without_disable_emptied_no_service_changes(self):
        code, rows = self.take(consolidate.Consolidate)
        self.assertEqual(0, code)
        self.assertEqual([('a', 'h2'), ('d', 'h4')], self.moves_asked())
        self.assertEqual({'enabled'}, {self.nova.services[h]['status']
                                       for h in HOSTS})
        self.assertEqual('emptied, enabled', rows['h1']['Status'])

    def test_reason_without_disable_emptied_is_refused(self):
        error = self.assertRaises(exceptions.CommandError, self.take,
                                  consolidate.Consolidate, '--reason', 'x')
        self.assertIn('--reason is the disabled reason of --disable-emptied',
                      str(error))
        self.assertEqual([], self.client.calls)

    def test_counts_must_be_positive(self):
        for cls in (consolidate.Consolidate, balance.Balance):
            for option in ('--max-moves', '--max-concurrent'):
                error = self.assertRaises(exceptions.CommandError, self.take,
                                          cls, option, '0')
                self.assertEqual('%s must be at least 1.' % option,
                                 str(error))
        self.assertEqual([], self.client.calls)
        self.take(consolidate.Consolidate, '--max-moves', '1', '--dry-run')
        self.assertEqual(('/consolidation-plan', {'max_moves': 1}),
                         self.client.calls[-1])

    def test_a_failed_move_exits_one_and_the_host_is_not_empty(self):
        self.nova.script['d'] = (1, 'error')
        code, out = self.run_command(consolidate.Consolidate)
        self.assertEqual(1, code)
        # The moves made, then the hosts as nova reports them now.
        self.assertLess(out.index('Moves made:'), out.index('| Host'))
        self.assertRegex(out, r'\n\S+ +vm-d +live-migration +h3 +failed')
        self.assertRegex(out, r'\| h3 +\| .* 40% \| .* 40% \| +1 \| +1 '
                              r'\| +0 \| +0 \| +1 \| not empty: 1 '
                              r'server\(s\) remain, enabled')
        self.assertRegex(out, r'\| h1 +\| .* 20% \| .* 0% \| +1 \| +0 '
                              r'\| +0 \| +1 \| +0 \| emptied, enabled')

    def test_json_rows_have_the_per_host_fields(self):
        code, out = self.run_command(consolidate.Consolidate, '-f', 'json')
        self.assertEqual(0, code)
        rows = {row['Host']: row for row in json.loads(out)}
        self.assertEqual(set(HOSTS), set(rows))
        # After is read again: what the moves did (h2 took a's 2 GiB).
        self.assertEqual({'Host': 'h2', 'Before': 0.4, 'After': 0.6,
                          'Servers before': 2, 'Servers after': 3,
                          'Moves in': 1, 'Moves out': 0, 'Failed': 0,
                          'Status': 'kept'}, rows['h2'])
        self.assertEqual((0.0, 0, 'emptied, enabled'),
                         (rows['h1']['After'], rows['h1']['Servers after'],
                          rows['h1']['Status']))
        self.assertEqual(('/hosts', {}),
                         self.client.calls[-1])

    def test_dry_run_json_gives_the_planned_view(self):
        code, out = self.run_command(consolidate.Consolidate, '--dry-run',
                                     '-f', 'json')
        self.assertEqual(0, code)
        rows = {row['Host']: row for row in json.loads(out)}
        self.assertEqual({'Host': 'h4', 'Before': 0.4, 'After': 0.8,
                          'Servers before': 1, 'Servers after': 2,
                          'Moves in': 1, 'Moves out': 0, 'Failed': None,
                          'Status': 'kept'}, rows['h4'])
        self.assertEqual('to empty', rows['h3']['Status'])

    def test_hosts_not_read_again_make_the_exit_code_one(self):
        self.client.hosts_error = 'os-livemig API answered HTTP 503'
        code, rows = self.take(consolidate.Consolidate)
        self.assertEqual(1, code)
        self.assertEqual(('not read again', None, None),
                         (rows['h1']['Status'], rows['h1']['After'],
                          rows['h1']['Servers after']))

    def test_no_wait_does_not_call_a_host_in_progress_not_empty(self):
        self.nova.script['d'] = (9, 'completed')
        code, rows = self.take(consolidate.Consolidate, '--no-wait',
                               '--max-concurrent', '1')
        self.assertEqual(0, code)
        self.assertEqual('emptying: 1 server(s) remain, moves in progress, '
                         'enabled', rows['h3']['Status'])


class BalanceTest(PlanCommandTest):

    def test_dry_run_prints_the_measure_and_the_spread(self):
        self.client.plans['/balance-plan'] = balance_plan('cpu')
        code, out = self.run_command(balance.Balance, '--dry-run',
                                     '--measure', 'cpu', '--aggregate',
                                     'rack1')
        self.assertEqual(0, code)
        self.assertEqual([], self.changes())
        self.assertEqual(('/balance-plan', {'aggregate': 'rack1',
                                            'measure': 'cpu'}),
                         self.client.calls[0])
        for text in ('Balance plan for zone any, aggregate rack1, 4 hosts',
                     'measure: cpu (freshness: compute monitors, '
                     'oldest_seconds 42)',
                     'spread: 0.34 -> 0.14 planned',
                     'not measured: h4'):
            self.assertIn(text, out)
        self.assertRegex(out, r'\| h2 +\| .* 90% \| .* 60% \| +2 \| +1 '
                              r'\| +0 \| +1 \| +\| to relieve')
        self.assertRegex(out, r'\| h4 +\| .*\| not measured')

    def test_moves_and_reads_the_hosts_again(self):
        code, rows = self.take(balance.Balance)
        self.assertEqual(0, code)
        self.assertEqual([('c', 'h1')], self.moves_asked())
        self.assertEqual({'Host': 'h2', 'Before': 0.9, 'After': 0.2,
                          'Servers before': 2, 'Servers after': 1,
                          'Moves in': 0, 'Moves out': 1, 'Failed': 0,
                          'Status': 'relieved'}, rows['h2'])
        self.assertEqual(('took load', 0.4),
                         (rows['h1']['Status'], rows['h1']['After']))

    def test_by_cpu_a_run_reports_both_sides_by_allocation(self):
        self.client.plans['/balance-plan'] = balance_plan('cpu')
        code, rows = self.take(balance.Balance, '--measure', 'cpu')
        self.assertEqual(0, code)
        # Read before and after the move, not the measured 0.9.
        self.assertEqual((0.4, 0.2), (rows['h2']['Before'],
                                      rows['h2']['After']))

    def test_a_failed_move_exits_one(self):
        self.nova.refuse['c'] = 'No valid host was found (HTTP 400)'
        code, rows = self.take(balance.Balance)
        self.assertEqual(1, code)
        self.assertEqual((1, 1, 'kept'),
                         (rows['h2']['Failed'], rows['h1']['Failed'],
                          rows['h2']['Status']))


class FreshnessTextTest(osc_base.TestCase):

    def test_allocations_and_measured_cpu_in_words(self):
        self.assertEqual('placement allocations, as of now',
                         plans.freshness_text({
                             'source': 'placement allocations',
                             'age_seconds': 0}))
        self.assertEqual(
            'compute monitors (cpu.percent), 3 host(s) measured, newest 5 s '
            'old, oldest 42 s, older than 600 s: h4',
            plans.freshness_text({
                'source': 'compute monitors (cpu.percent)',
                'max_age_seconds': 600, 'measured_hosts': 3,
                'stale_hosts': ['h4'], 'oldest_age_seconds': 42.2,
                'newest_age_seconds': 5.0}))
        self.assertEqual('not given', plans.freshness_text(None))
