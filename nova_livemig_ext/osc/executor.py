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

"""The executor: an ordered list of moves made through nova's API.

The only code of the client that changes anything. It asks nova for one
ordinary move per server (a live migration or an evacuation, never
forced, see :mod:`nova_livemig_ext.osc.compute`), keeps at most
``max_concurrent`` in flight and follows each through nova's migration
records to its end. It keeps no state of its own: run again, it starts
from what nova reports, so that

- a server no longer on the source host is skipped;
- a server whose move nova is still making is waited for, not moved
  again (its migration is found by the server's ``task_state`` and
  ``GET /os-migrations?instance_uuid=...&migration_type=...``);
- a server nova cannot move now (not ACTIVE or PAUSED for a live
  migration) is reported and left alone.

Ctrl-C (KeyboardInterrupt) stops starting moves and waits for those in
flight; a second Ctrl-C stops waiting and names those still running.
A failure does not stop the others unless ``stop_on_error``.

Moves start in the list's order, but a move waits while an earlier move
whose source is its destination is pending or in flight: the room it was
planned into exists only once that move has ended. Moves further down
that wait for nothing start meanwhile. A move whose prerequisite failed
is still asked for: nova's scheduler judges it and refuses it if the
room is not there.

Drain, consolidation and balancing share it: each hands it its plan's
moves in the plan's order.
"""

import dataclasses
import time

from osc_lib import exceptions

from nova_livemig_ext.osc import compute

# Results in the final table.
COMPLETED = 'completed'
FAILED = 'failed'
SKIPPED = 'skipped'
LEFT_ALONE = 'left alone'
STILL_RUNNING = 'still running'
# Without waiting: started, and nova is still making it (not a failure).
IN_PROGRESS = 'in progress'
NOT_STARTED = 'not started'
# Results that make the exit code non-zero.
FAILURES = frozenset((FAILED, STILL_RUNNING, NOT_STARTED))

# Server statuses from which nova moves a server, per kind of move.
MOVABLE = {
    compute.LIVE_MIGRATION: frozenset(('ACTIVE', 'PAUSED')),
    # nova's evacuate accepts vm_states active, stopped and error.
    compute.EVACUATION: frozenset(('ACTIVE', 'SHUTOFF', 'ERROR')),
}
# task_state of a server nova is moving, per kind of move.
MOVING_TASK_STATES = {
    compute.LIVE_MIGRATION: frozenset(('migrating',)),
    compute.EVACUATION: frozenset(('rebuilding', 'rebuild_spawning',
                                   'rebuild_block_device_mapping')),
}
POLL_SECONDS = 2.0


@dataclasses.dataclass(frozen=True)
class Move:
    """One move of a plan.

    :param destination: the planned host, or None (nova's scheduler
        chooses; with ``follow_plan`` a live migration names it, still
        judged by the scheduler).
    :param kind: ``live-migration`` or ``evacuation``.
    """

    server_id: str
    name: str
    source: str
    destination: str | None = None
    kind: str = compute.LIVE_MIGRATION


@dataclasses.dataclass
class Outcome:
    """How one move ended: a row of the final table."""

    move: Move
    result: str
    host: str | None = None
    seconds: float | None = None
    detail: str = ''

    @property
    def failed(self):
        return self.result in FAILURES


@dataclasses.dataclass
class _Flight:
    move: Move
    started: float
    status_before: str | None = None
    after_id: int = 0
    migration: dict | None = None
    resumed: bool = False


class Progress:
    """What an executor tells as it goes; this one tells nothing."""

    def start(self, total):
        pass

    def event(self, move, text):
        """Something happened to ``move`` (None: to the whole run)."""

    def update(self, done, in_flight):
        pass

    def stop(self):
        pass


class Executor:
    """Run moves in order, at most ``max_concurrent`` at a time.

    :param nova: a :class:`~nova_livemig_ext.osc.compute.Compute` (or a
        fake with its methods).
    :param max_concurrent: the most moves in flight at once (>= 1).
    :param follow_plan: name each live migration's planned destination.
    :param stop_on_error: start no more moves after one fails.
    :param wait: follow the last moves to their end; without it the run
        ends once every move has started.
    :param timeout: seconds a move may take (0: no limit); past it the
        executor stops following it (nova goes on with it) and starts no
        more moves.
    :param progress: a :class:`Progress`.
    :param clock, sleep: time, replaced in unit tests.
    """

    def __init__(self, nova, max_concurrent=2, follow_plan=False,
                 stop_on_error=False, wait=True, timeout=600,
                 progress=None, poll_seconds=None,
                 clock=None, sleep=None):
        if max_concurrent < 1:
            raise ValueError('max_concurrent must be at least 1')
        self.nova = nova
        self.max_concurrent = max_concurrent
        self.follow_plan = follow_plan
        self.stop_on_error = stop_on_error
        self.wait = wait
        self.timeout = timeout
        self.progress = progress or Progress()
        self.poll_seconds = (POLL_SECONDS if poll_seconds is None
                             else poll_seconds)
        self.clock = clock or time.monotonic
        self.sleep = sleep or _sleep
        self.interrupted = 0
        self.stopped_because = None
        # The move being started and, once nova may have been asked, the
        # newest migration id before the request (Ctrl-C can come between).
        self._starting = None
        self._asked_after = None

    def run(self, moves):
        """Make the moves.

        :returns: one :class:`Outcome` per move, in the moves' order.
        """
        self._order = {m.server_id: i for i, m in enumerate(moves)}
        self._held = set()
        pending = list(moves)
        in_flight = {}
        outcomes = {}
        self.progress.start(len(moves))
        try:
            self._loop(pending, in_flight, outcomes)
            if in_flight and self.interrupted:
                # Those that ended since the last look are not still
                # running: look once more.
                self._poll(in_flight, outcomes)
        except KeyboardInterrupt:
            pass
        finally:
            self.progress.stop()
        now = self.clock()
        unfollowed = (IN_PROGRESS if not self.wait and not self.interrupted
                      else STILL_RUNNING)
        for flight in in_flight.values():
            outcomes[flight.move.server_id] = Outcome(
                flight.move, unfollowed, flight.move.source,
                now - flight.started, _still_running(flight))
        for move in pending:
            outcomes[move.server_id] = Outcome(
                move, NOT_STARTED, move.source,
                detail='not started: %s' % self.stopped_because)
        return [outcomes[m.server_id] for m in moves]

    def _loop(self, pending, in_flight, outcomes):
        while True:
            try:
                self._start_more(pending, in_flight, outcomes)
                self.progress.update(len(outcomes), len(in_flight))
                if not in_flight:
                    return
                if not self.wait and (not pending or self.stopped_because):
                    return
                self.sleep(self.poll_seconds)
                self._poll(in_flight, outcomes)
                self.progress.update(len(outcomes), len(in_flight))
            except KeyboardInterrupt:
                self._interrupted(pending, in_flight)
                if not in_flight or self.interrupted > 1:
                    return
                self.progress.event(None, (
                    'Interrupted: no more moves start; waiting for the %d '
                    'in flight (Ctrl-C again to stop waiting).'
                    % len(in_flight)))

    def _interrupted(self, pending, in_flight):
        self.interrupted += 1
        self.stopped_because = self.stopped_because or 'interrupted'
        move, self._starting = self._starting, None
        if move is None:
            return
        if self._asked_after is None:
            pending.append(move)
            pending.sort(key=lambda m: self._order[m.server_id])
        else:
            # nova may have been asked: follow what it does.
            in_flight[move.server_id] = _Flight(
                move, self.clock(), after_id=self._asked_after,
                resumed=True)

    # -- starting ----------------------------------------------------------

    def _start_more(self, pending, in_flight, outcomes):
        while (pending and not self.stopped_because and
               len(in_flight) < self.max_concurrent):
            move = self._next(pending, in_flight)
            if move is None:
                return
            pending.remove(move)
            self._starting = move
            self._asked_after = None
            result = self._start(move)
            self._starting = None
            if isinstance(result, Outcome):
                self._finish(result, outcomes)
            else:
                in_flight[move.server_id] = result
                self.progress.event(move, (
                    'following the %s already in progress' % move.kind
                    if result.resumed else 'started'))

    def _next(self, pending, in_flight):
        """The first pending move that waits for no other, or None.

        A move waits while an earlier move (in the list's order) leaving
        its destination is pending or in flight.
        """
        nothing = (len(self._order), None)
        first_leaving = {}
        for move in pending + [f.move for f in in_flight.values()]:
            index = self._order[move.server_id]
            if index < first_leaving.get(move.source, nothing)[0]:
                first_leaving[move.source] = (index, move)
        for move in pending:
            index, earlier = first_leaving.get(move.destination, nothing)
            if index >= self._order[move.server_id]:
                return move
            if move.server_id not in self._held:
                self._held.add(move.server_id)
                self.progress.event(move, 'waits for %s to leave %s' % (
                    earlier.name or earlier.server_id, move.destination))
        return None

    def _start(self, move):
        """A :class:`_Flight` for a move now in progress, else an Outcome."""
        server = self.nova.server(move.server_id)
        if server is None:
            return Outcome(move, SKIPPED, None, detail='deleted')
        if server['host'] != move.source:
            return Outcome(move, SKIPPED, server['host'], detail=(
                'no longer on %s' % move.source))
        migrations = self.nova.migrations(move.server_id, move.kind)
        if server['task_state'] in MOVING_TASK_STATES[move.kind]:
            # nova is moving it already (an earlier run): follow that move.
            running = [m for m in migrations
                       if m['status'] not in compute.ENDED]
            return _Flight(move, self.clock(), server['status'],
                           migration=running[-1] if running else None,
                           after_id=(running[-1]['id'] - 1 if running
                                     else _last_id(migrations)),
                           resumed=True)
        if server['task_state']:
            return Outcome(move, LEFT_ALONE, move.source, detail=(
                'busy: task_state %s' % server['task_state']))
        if server['status'] not in MOVABLE[move.kind]:
            return Outcome(move, LEFT_ALONE, move.source,
                           detail=not_movable(server['status'], move.kind))
        self._asked_after = _last_id(migrations)
        try:
            if move.kind == compute.EVACUATION:
                self.nova.evacuate(move.server_id)
            else:
                self.nova.live_migrate(
                    move.server_id,
                    move.destination if self.follow_plan else None)
        except exceptions.CommandError as exc:
            return Outcome(move, FAILED, move.source, 0.0,
                           'nova refused: %s' % exc)
        return _Flight(move, self.clock(), server['status'],
                       after_id=self._asked_after)

    # -- following ---------------------------------------------------------

    def _poll(self, in_flight, outcomes):
        for server_id, flight in list(in_flight.items()):
            outcome = self._check(flight)
            if outcome is not None:
                del in_flight[server_id]
                self._finish(outcome, outcomes)

    def _check(self, flight):
        """The flight's Outcome once nova has ended it, else None."""
        move = flight.move
        migrations = [m for m in self.nova.migrations(move.server_id,
                                                      move.kind)
                      if m['id'] > flight.after_id]
        if migrations:
            flight.migration = migrations[-1]
        server = self.nova.server(move.server_id)
        elapsed = self.clock() - flight.started
        if server is None:
            return Outcome(move, FAILED, None, elapsed,
                           'the server was deleted during its move')
        if flight.migration is not None:
            if (flight.migration['status'] in compute.ENDED and
                    not server['task_state']):
                return self._ended(flight, server, elapsed)
        elif server['task_state'] not in MOVING_TASK_STATES[move.kind]:
            # nova's API sets the task_state before it answers, its
            # conductor writes the migration record later: neither is
            # left, so nova is done with the move (or never made it).
            return self._ended(flight, server, elapsed)
        if self.timeout and elapsed > self.timeout:
            self.stopped_because = self.stopped_because or (
                'a move took longer than %d s' % self.timeout)
            return Outcome(move, STILL_RUNNING, server['host'], elapsed,
                           'did not end within %d s; %s' % (
                               self.timeout, _still_running(flight)))
        return None

    def _ended(self, flight, server, elapsed):
        move = flight.move
        status = flight.migration['status'] if flight.migration else None
        moved = server['host'] != move.source
        # A move keeps the server's state (an evacuation rebuilds one in
        # ERROR as ACTIVE).
        kept = server['status'] in (flight.status_before or
                                    server['status'], 'ACTIVE')
        if moved and server['status'] in MOVABLE[move.kind] and (
                status is None or status in compute.SUCCEEDED):
            if not kept:
                return Outcome(move, FAILED, server['host'], elapsed, (
                    '%s, but the server is %s (it was %s)' % (
                        _migration_text(flight) or 'moved',
                        server['status'], flight.status_before)))
            return Outcome(move, COMPLETED, server['host'], elapsed,
                           _migration_text(flight))
        if status is None and not moved:
            return Outcome(move, NOT_STARTED, server['host'], elapsed,
                           'nova made no move')
        detail = '%s; server %s on %s' % (
            'migration %s ended %s' % (flight.migration['id'], status)
            if flight.migration else
            '%s ended without a migration record' % move.kind,
            server['status'], server['host'])
        if (move.kind == compute.EVACUATION and not moved and
                server['status'] == 'ERROR' and
                flight.status_before == 'ACTIVE'):
            # nova's conductor sets ERROR when it finds no host for an
            # evacuation: the server is as it was before it was asked.
            self.nova.reset_state(move.server_id, 'active')
            detail += '; its state was reset to ACTIVE'
        return Outcome(move, FAILED, server['host'], elapsed, detail)

    def _finish(self, outcome, outcomes):
        outcomes[outcome.move.server_id] = outcome
        self.progress.event(outcome.move, outcome.result + (
            ': ' + outcome.detail if outcome.detail else ''))
        if outcome.failed and self.stop_on_error:
            self.stopped_because = self.stopped_because or (
                '%s failed (--stop-on-error)' % (outcome.move.name or
                                                 outcome.move.server_id))


def _still_running(flight):
    return 'nova is still moving it%s; run again to follow it' % (
        ' (migration %s, %s)' % (flight.migration['id'],
                                 flight.migration['status'])
        if flight.migration else '')


def _sleep(seconds):
    time.sleep(seconds)


def _last_id(migrations):
    return migrations[-1]['id'] if migrations else 0


def _migration_text(flight):
    if not flight.migration:
        return ''
    return 'migration %s %s' % (flight.migration['id'],
                                flight.migration['status'])


def not_movable(status, kind):
    if kind == compute.LIVE_MIGRATION and status == 'SHUTOFF':
        return ('SHUTOFF: a stopped server cannot be live-migrated; '
                'it can be cold-migrated (openstack server migrate), '
                'not done unasked')
    return 'status %s: nova cannot %s it' % (
        status, 'live-migrate' if kind == compute.LIVE_MIGRATION
        else 'evacuate')


def exit_code(outcomes, interrupted=False):
    """0 when every move made completed, else 1."""
    return 1 if interrupted or any(o.failed for o in outcomes) else 0
