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

"""``openstack livemig host drain``: empty a compute host for maintenance."""

from osc_lib.command import command
from osc_lib import exceptions

from nova_livemig_ext.osc import compute
from nova_livemig_ext.osc import executor
from nova_livemig_ext.osc import hosts
from nova_livemig_ext.osc import progress

REASON_PREFIX = 'livemig drain: '
PLAN_COLUMNS = ['ID', 'Name', 'Status', 'Kind', 'Destination', 'Note']
RESULT_COLUMNS = ['ID', 'Name', 'Kind', 'From', 'To', 'Result', 'Seconds',
                  'Detail']


def add_run_arguments(parser):
    """The executor's options, shared by the commands that move servers."""
    parser.add_argument('--stop-on-error', action='store_true',
                        help='Start no more moves after one fails')
    wait = parser.add_mutually_exclusive_group()
    wait.add_argument('--wait', dest='wait', action='store_true',
                      default=True,
                      help='Follow every move to its end (default)')
    wait.add_argument('--no-wait', dest='wait', action='store_false',
                      help='Return once every move has started')
    parser.add_argument('--timeout', metavar='<seconds>', type=int,
                        default=600,
                        help='Stop following a move after this many '
                             'seconds and start no more (default 600; '
                             '0: no limit)')


def reasons_text(reasons):
    """A plan's reasons, strings or ``{constraint, message}``, as text."""
    parts = []
    for reason in reasons or ():
        if isinstance(reason, dict):
            parts.append('%s%s%s' % (
                '%s: ' % reason['host'] if reason.get('host') else '',
                '%s: ' % reason['constraint'] if reason.get('constraint')
                else '', reason.get('message')))
        else:
            parts.append(str(reason))
    return '; '.join(parts)


class Planned:
    """One server of the drain plan with what nova says of it now."""

    def __init__(self, entry, host, kind, server):
        self.server_id = entry['server_id']
        self.name = entry.get('name') or (server or {}).get('name') or ''
        self.destination = entry.get('destination')
        self.reasons = reasons_text(entry.get('reasons'))
        self.kind = kind
        self.status = (server or {}).get('status')
        self.task_state = (server or {}).get('task_state')
        self.move = executor.Move(self.server_id, self.name, host,
                                  self.destination, kind)

    @property
    def movable(self):
        return self.status in executor.MOVABLE[self.kind]

    @property
    def unplaceable(self):
        return self.destination is None and self.movable

    def note(self):
        if self.task_state in executor.MOVING_TASK_STATES[self.kind]:
            return 'being moved already: followed to its end'
        if self.status is not None and not self.movable:
            return 'left alone: ' + executor.not_movable(self.status,
                                                         self.kind)
        if self.destination is None:
            return 'no destination: ' + (self.reasons or 'no reason given')
        return self.reasons

    def plan_row(self):
        return [self.server_id, self.name, self.status, self.kind,
                self.destination, self.note()]


class DrainHost(command.Lister):
    """Empty a compute host by live migration (or evacuate a failed one).

    Prints the drain plan, refuses when a server has no destination
    (unless --allow-partial), disables the host's compute service so that
    nothing new lands, then live-migrates every ACTIVE or PAUSED server at
    microversion 2.68 (nova's scheduler and filters judge each move, a
    planned host is never forced), at most --max-concurrent at a time,
    following each to its end. Other servers are reported and left alone.
    Run again, it resumes from what nova reports. Ends with one row per
    server; the exit code is 1 if any move failed, was interrupted or did
    not end in time.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='<host>',
                            help='Compute host to drain')
        parser.add_argument('--dry-run', action='store_true',
                            help='Print the plan only; change nothing')
        disable = parser.add_mutually_exclusive_group()
        disable.add_argument('--disable', dest='disable',
                             action='store_true', default=True,
                             help='Disable the compute service first '
                                  '(default)')
        disable.add_argument('--no-disable', dest='disable',
                             action='store_false',
                             help='Leave the compute service enabled')
        parser.add_argument('--reason', metavar='<text>',
                            default='maintenance',
                            help='Disabled reason, recorded as "%s<text>" '
                                 '(default: maintenance)' % REASON_PREFIX)
        parser.add_argument('--max-concurrent', metavar='<n>', type=int,
                            default=2,
                            help='Moves in flight at once (default 2)')
        parser.add_argument('--follow-plan', action='store_true',
                            help='Name each server\'s planned host (nova\'s '
                                 'scheduler still judges it) instead of '
                                 'letting the scheduler choose')
        parser.add_argument('--allow-partial', action='store_true',
                            help='Move the servers that have a destination '
                                 'even when others have none')
        add_run_arguments(parser)
        parser.add_argument('--evacuate', action='store_true',
                            help='The host has failed (its compute '
                                 'service is down): evacuate its servers '
                                 'instead, nova\'s scheduler choosing')
        return parser

    def run(self, parsed_args):
        self.exit_code = 0
        return super().run(parsed_args) or self.exit_code

    def take_action(self, parsed_args):
        if parsed_args.max_concurrent < 1:
            raise exceptions.CommandError('--max-concurrent must be at '
                                          'least 1.')
        client = self.app.client_manager.livemig
        nova = compute.Compute(client)
        host = parsed_args.host
        service = self._service(nova, host, parsed_args.evacuate)
        kind = (compute.EVACUATION if parsed_args.evacuate
                else compute.LIVE_MIGRATION)
        body = client.get('/hosts/%s/drain-plan' % host,
                          move=kind)['drain_plan']
        servers = nova.servers_on(host)
        # In the plan's order; the servers it cannot move after the others.
        entries = sorted(body['moves'], key=lambda m: (
            m.get('order') is None, m.get('order') or 0))
        planned = [Planned(entry, host, kind, servers.get(entry['server_id']))
                   for entry in entries]
        unplanned = sorted(set(servers) - {p.server_id for p in planned})
        if unplanned:
            self.log.warning('Servers on %s the plan does not list (booted '
                             'since?): %s', host, ', '.join(unplanned))
        unplaceable = [p for p in planned if p.unplaceable]
        refused = unplaceable and not parsed_args.allow_partial
        if parsed_args.dry_run:
            self.exit_code = 1 if refused else 0
            return PLAN_COLUMNS, [p.plan_row() for p in planned]
        table = parsed_args.formatter == 'table'
        if table:
            self.app.stdout.write('Plan to drain %s:\n%s\n\n' % (
                host, hosts.text_table(PLAN_COLUMNS,
                                       [p.plan_row() for p in planned])))
        if refused:
            raise exceptions.CommandError(
                'Nothing was moved: no destination for %d server(s): %s. '
                'Free room or relax a limit, or give --allow-partial to '
                'move the others.' % (len(unplaceable), '; '.join(
                    '%s (%s): %s' % (p.name, p.server_id,
                                     p.reasons or 'no reason given')
                    for p in unplaceable)))
        if parsed_args.disable:
            self._disable(nova, service, parsed_args.reason, table)
        run = executor.Executor(
            nova, max_concurrent=parsed_args.max_concurrent,
            follow_plan=parsed_args.follow_plan,
            stop_on_error=parsed_args.stop_on_error,
            wait=parsed_args.wait, timeout=parsed_args.timeout,
            progress=progress.for_command(
                self.app.stdout, parsed_args.formatter, self.log,
                'Draining %s' % host))
        moves = [p.move for p in planned if not p.unplaceable]
        outcomes = {o.move.server_id: o for o in run.run(moves)}
        for p in planned:
            if p.unplaceable:
                outcomes[p.server_id] = executor.Outcome(
                    p.move, executor.LEFT_ALONE, host,
                    detail='no destination: ' + (p.reasons or
                                                 'no reason given'))
        rows = [result_row(outcomes[p.server_id]) for p in planned]
        self.exit_code = executor.exit_code(outcomes.values(),
                                            run.interrupted)
        staying = [o for o in outcomes.values() if o.host == host]
        if staying:
            self.log.warning('%d server(s) remain on %s.', len(staying),
                             host)
        return RESULT_COLUMNS, rows

    def _service(self, nova, host, evacuate):
        service = nova.compute_service(host)
        if service is None:
            raise exceptions.CommandError(
                'No nova-compute service runs on host %s.' % host)
        down = service['state'] == 'down' or service.get('forced_down')
        if evacuate and not down:
            raise exceptions.CommandError(
                'The compute service of %s is up: its servers can be '
                'live-migrated (drop --evacuate). Evacuation is for a failed '
                'host; if it has failed and nova still reports it up, mark '
                'it down first (openstack compute service set --down %s '
                'nova-compute).' % (host, host))
        if not evacuate and down:
            raise exceptions.CommandError(
                'The compute service of %s is down: its servers cannot be '
                'live-migrated. If the host has failed, evacuate them: '
                'openstack livemig host drain %s --evacuate' % (host, host))
        return service

    def _disable(self, nova, service, reason, table):
        if service['status'] == 'disabled':
            self.log.info('The compute service of %s is already disabled '
                          '(%s): left as it is.', service['host'],
                          service.get('disabled_reason'))
            return
        text = REASON_PREFIX + reason
        nova.disable_service(service['id'], text)
        if table:
            self.app.stdout.write('Disabled the compute service of %s: '
                                  '%s\n' % (service['host'], text))


def result_row(outcome):
    move = outcome.move
    seconds = (round(outcome.seconds, 1) if outcome.seconds is not None
               else None)
    moved_to = outcome.host if outcome.host != move.source else ''
    return [move.server_id, move.name, move.kind, move.source, moved_to or '',
            outcome.result, seconds, outcome.detail]
