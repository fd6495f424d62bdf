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

"""What ``openstack livemig consolidate`` and ``balance`` share.

Both read a plan of the API (``GET /os-livemig/consolidation-plan``,
``GET /os-livemig/balance-plan``), print it, and make its moves with the
shared :class:`~nova_livemig_ext.osc.executor.Executor` in the plan's
order, naming each planned destination (live migration at 2.68, never
forced: nova's scheduler judges every move). They end with one row per
host of the plan: utilization before and after (after a run, read again
from ``GET /os-livemig/hosts``, so that it is what happened, not what was
planned), servers, moves in and out, failures and what became of it.
"""

from cliff import columns as cliff_columns
from osc_lib.command import command
from osc_lib import exceptions

from nova_livemig_ext.osc import compute
from nova_livemig_ext.osc import drain
from nova_livemig_ext.osc import executor
from nova_livemig_ext.osc import hosts
from nova_livemig_ext.osc import progress
from nova_livemig_ext.planning import scope

BAR_CELLS = 20
HOST_COLUMNS = ['Host', 'Before', 'After', 'Servers before',
                'Servers after', 'Moves in', 'Moves out', 'Failed',
                'Status']
MOVE_COLUMNS = ['Order', 'ID', 'Name', 'From', 'To', 'Why']
UNPLANNED_COLUMNS = ['ID', 'Name', 'Host', 'Reasons']


def bar(utilization):
    """A utilization as ``████████░░░░░░░░░░░░  41%``.

    20 cells, all full from 100 %; the percentage is printed as it is
    (above 100 % with overcommit).
    """
    share = min(max(utilization, 0.0), 1.0)
    filled = int(share * BAR_CELLS + 0.5)
    return '%s%s %3d%%' % ('█' * filled, '░' * (BAR_CELLS - filled),
                           int(utilization * 100 + 0.5))


class Utilization(cliff_columns.FormattableColumn):
    """A bar in a table, the number (0..1, or above) for programs."""

    def human_readable(self):
        return '-' if self._value is None else bar(self._value)

    def machine_readable(self):
        return self._value


class Blank(cliff_columns.FormattableColumn):
    """A value that a table leaves blank when there is none (null)."""

    def human_readable(self):
        return '' if self._value is None else str(self._value)

    def machine_readable(self):
        return self._value


def host_utilization(host):
    """An ``os-livemig/hosts`` entry's utilization, as the plans define it.

    The tightest resource class's used / capacity.
    """
    resources = host.get('resources') or {}
    return scope.utilization(
        {rc: entry['capacity'] for rc, entry in resources.items()},
        {rc: entry['used'] for rc, entry in resources.items()})


def service_text(service):
    if service.get('status') == 'disabled':
        reason = service.get('disabled_reason')
        return 'disabled (%s)' % reason if reason else 'disabled'
    return service.get('status') or 'no compute service'


def scope_text(plan_scope):
    return 'zone %s, aggregate %s, %d hosts' % (
        plan_scope.get('availability_zone') or 'any',
        plan_scope.get('aggregate') or 'any',
        len(plan_scope.get('hosts') or ()))


def freshness_text(freshness):
    """How fresh a plan's measure is, in words.

    ``{"source": "placement allocations", "age_seconds": 0}`` reads
    "placement allocations, as of now"; the measured CPU's freshness
    names the hosts measured, the ages of the oldest and newest
    measurement and the hosts whose measurement is too old.
    """
    freshness = dict(freshness or {})
    if not freshness:
        return 'not given'
    parts = [freshness.pop('source', 'unknown source')]
    if freshness.pop('age_seconds', None) == 0:
        parts[0] += ', as of now'
    if 'measured_hosts' in freshness:
        parts.append('%d host(s) measured' % freshness.pop('measured_hosts'))
    oldest = freshness.pop('oldest_age_seconds', None)
    newest = freshness.pop('newest_age_seconds', None)
    if oldest is not None:
        parts.append('newest %.0f s old, oldest %.0f s' % (newest, oldest))
    stale = freshness.pop('stale_hosts', None)
    max_age = freshness.pop('max_age_seconds', None)
    if stale:
        parts.append('older than %s s: %s' % (max_age, ', '.join(stale)))
    parts.extend('%s %s' % (key, freshness[key]) for key in sorted(freshness))
    return ', '.join(parts)


def _positive(parsed_args, *names):
    for name in names:
        value = getattr(parsed_args, name)
        if value is not None and value < 1:
            raise exceptions.CommandError('--%s must be at least 1.'
                                          % name.replace('_', '-'))


class _Tally:
    """Per host: moves in and out, failures, planned or made."""

    def __init__(self, moves, outcomes):
        self.moves_in, self.moves_out, self.failed = {}, {}, {}
        if outcomes is None:
            for move in moves:
                self._add(self.moves_in, move.destination)
                self._add(self.moves_out, move.source)
            return
        for outcome in outcomes:
            move = outcome.move
            if outcome.result == executor.COMPLETED:
                self._add(self.moves_in, outcome.host)
                self._add(self.moves_out, move.source)
            elif outcome.failed:
                self._add(self.failed, move.source)
                self._add(self.failed, move.destination)

    @staticmethod
    def _add(counts, host):
        counts[host] = counts.get(host, 0) + 1


class PlanCommand(command.Lister):
    """What consolidate and balance share: read, print, move, report."""

    path = None
    key = None
    title = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--availability-zone', metavar='<zone>',
                            help='Only the hosts of this availability zone')
        parser.add_argument('--aggregate', metavar='<aggregate>',
                            help='Only the hosts of this aggregate (name)')
        parser.add_argument('--max-moves', metavar='<n>', type=int,
                            help='Plan at most this many moves')
        self.add_plan_arguments(parser)
        parser.add_argument('--dry-run', action='store_true',
                            help='Print the plan only; change nothing')
        parser.add_argument('--max-concurrent', metavar='<n>', type=int,
                            default=2,
                            help='Moves in flight at once (default 2); a '
                                 'move onto a host that an earlier move '
                                 'leaves waits for it')
        drain.add_run_arguments(parser)
        return parser

    def add_plan_arguments(self, parser):
        """The command's own options."""

    def plan_params(self, parsed_args):
        return {'availability_zone': parsed_args.availability_zone,
                'aggregate': parsed_args.aggregate,
                'max_moves': parsed_args.max_moves}

    def check(self, parsed_args):
        _positive(parsed_args, 'max_moves', 'max_concurrent')

    def run(self, parsed_args):
        self.exit_code = 0
        return super().run(parsed_args) or self.exit_code

    def take_action(self, parsed_args):
        self.check(parsed_args)
        client = self.app.client_manager.livemig
        plan = client.get(self.path, **self.plan_params(parsed_args))[
            self.key]
        moves = [executor.Move(m['server_id'], m.get('name') or '',
                               m['source'], m['destination'])
                 for m in sorted(plan.get('moves', []),
                                 key=lambda m: m['order'])]
        table = parsed_args.formatter == 'table'
        out = self.app.stdout
        if table:
            out.write(self.summary(plan) + '\n')
            out.write(_unplanned_text(plan.get('unplanned')))
            out.write(_moves_text(plan.get('moves', [])) + '\n')
        if parsed_args.dry_run:
            return HOST_COLUMNS, self.host_rows(plan, moves, None, None,
                                                parsed_args)
        # NOTE: measured CPU is not read again (nova's compute monitors
        # report it later): both sides of a run are then by allocation.
        before = (self._reread(client, plan, parsed_args)
                  if plan.get('measure') == 'cpu' else None)
        nova = compute.Compute(client)
        self.before_moves(nova, plan, parsed_args, table)
        outcomes = []
        interrupted = False
        if moves:
            run = executor.Executor(
                nova, max_concurrent=parsed_args.max_concurrent,
                follow_plan=True, stop_on_error=parsed_args.stop_on_error,
                wait=parsed_args.wait, timeout=parsed_args.timeout,
                progress=progress.for_command(out, parsed_args.formatter,
                                              self.log, self.title))
            outcomes = run.run(moves)
            interrupted = run.interrupted
        self.exit_code = executor.exit_code(outcomes, interrupted)
        if table and outcomes:
            out.write('Moves made:\n%s\n\n' % hosts.text_table(
                drain.RESULT_COLUMNS,
                [drain.result_row(o) for o in outcomes]))
        now = self._reread(client, plan, parsed_args)
        return HOST_COLUMNS, self.host_rows(plan, moves, outcomes, now,
                                            parsed_args, before)

    def summary(self, plan):
        raise NotImplementedError()

    def before_moves(self, nova, plan, parsed_args, table):
        """What the command does before the first move."""

    def _reread(self, client, plan, parsed_args):
        """The plan's hosts as ``os-livemig/hosts`` shows them now.

        :returns: host name -> entry, or None when the API did not answer.
        """
        names = {h['host'] for h in plan.get('hosts', [])}
        try:
            listed, _body = client.get_all(
                '/hosts', 'hosts',
                availability_zone=parsed_args.availability_zone,
                aggregate=parsed_args.aggregate)
        except exceptions.CommandError as exc:
            self.log.warning('The hosts could not be read again after the '
                             'moves: %s', exc)
            return None
        return {h['host']: h for h in listed if h['host'] in names}

    def host_rows(self, plan, moves, outcomes, now, parsed_args,
                  before=None):
        """One row per host of the plan; after a run, as read again.

        :param before: host name -> ``os-livemig/hosts`` entry read
            before the moves, when the plan's measure is not read again.
        """
        tally = _Tally(moves, outcomes)
        rows = []
        for entry in plan.get('hosts', []):
            name = entry['host']
            utilization_before = entry.get('utilization_before')
            if before is not None:
                utilization_before = (host_utilization(before[name])
                                      if name in before else None)
            if outcomes is None:
                after = entry.get('utilization_after')
                servers_after = entry.get('servers_after')
                status = self.planned_status(plan, entry, tally)
            else:
                current = (now or {}).get(name)
                after = host_utilization(current) if current else None
                servers_after = current['instances'] if current else None
                status = self.status(plan, entry, tally, current,
                                     parsed_args)
            rows.append([name, Utilization(utilization_before),
                         Utilization(after), entry.get('servers_before'),
                         servers_after, tally.moves_in.get(name, 0),
                         tally.moves_out.get(name, 0),
                         Blank(None) if outcomes is None
                         else tally.failed.get(name, 0), status])
        return rows

    def planned_status(self, plan, entry, tally):
        raise NotImplementedError()

    def status(self, plan, entry, tally, current, parsed_args):
        raise NotImplementedError()


def _unplanned_text(unplanned):
    if not unplanned:
        return ''
    return 'Servers the plan leaves where they are:\n%s\n\n' % (
        hosts.text_table(UNPLANNED_COLUMNS, [
            [u['server_id'], u.get('name'), u.get('host'),
             drain.reasons_text(u.get('reasons'))] for u in unplanned]))


def _moves_text(plan_moves):
    if not plan_moves:
        return 'Nothing to move.\n'
    return 'Moves, in order:\n%s\n' % hosts.text_table(MOVE_COLUMNS, [
        [m['order'], m['server_id'], m.get('name'), m['source'],
         m['destination'], m.get('why')]
        for m in sorted(plan_moves, key=lambda m: m['order'])])
