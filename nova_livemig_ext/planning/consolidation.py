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

"""Consolidation planning: empty as many hosts as the rules allow.

The hosts of a scope fall into groups that no server can leave: a
server's candidates (the hosts every usage-independent rule accepts, so
its zone and migration domain) join its host to them, and the groups are
what stays joined. Per group, the lower bound is the fewest hosts that
could hold the group's usage: per resource class, the largest allowances
(cap x capacity) added until they cover the usage, an allowance counted
in the steps whole flavors fill it (the greatest common divisor of the
servers' amounts), which for identical hosts and fractional flavors is
the usage over one host's allowance, rounded up. Hosts that must stay (a
server that cannot move, usage of servers outside the plan) count first;
servers confined to a part of the group (pinned to a zone) give that part
its own bound, and the parts' bounds add up; an anti-affinity group needs
a host per member.

The planner then, per group:

1. keeps as many hosts as the bound says, enough in each confined part:
   the largest first (the bound assumes them), then those holding a
   server larger than most hosts have room for (it would fit nowhere
   else), then the most loaded (fewer servers move); the others are to be
   emptied;
2. places the servers of the hosts to empty, all at once, those with
   fewer candidates first (pinned to a zone before free in a domain, so
   that free ones do not take the room only pinned ones can use), largest
   first among them (the sum over resource classes of the server's share
   of an average allowance), each on the kept host with the least room
   left in the scope's scarcest resource (a resource class, or the
   measured CPU under a CPU limit) that accepts it (best-fit decreasing):
   candidates, caps per resource class, anti-affinity, the CPU limit;
3. for a server no kept host accepts, makes room on the kept hosts with
   the most room: servers planned onto the host go elsewhere, then, within
   5 % more moves than the servers of emptied hosts, the host's own
   smallest sufficient server moves to another kept host (these moves
   come first in the plan);
4. when some server still finds no host, keeps that server's host too
   and places everything again;
5. then tries, smallest and least loaded first, to empty the kept hosts
   above the bound (their servers, and those planned onto them, go to the
   other kept hosts, or nothing changes), and places the group again from
   the start with one kept host fewer until three such attempts fail.

Servers of emptied hosts move once each, straight to a host that stays;
a kept host's usage only grows, except when one of its servers leaves to
make room, which is listed before anything lands on it. So every move is
feasible at its point of the order (the unit tests and the benchmark
replay each plan move by move). Moves are listed host by host.

How close it comes, measured (``tools/bench_plans.py``, see
doc/source/performance.rst): on nova-spread clusters of 1,000 identical
hosts and 20,000 servers it keeps exactly the lower bound, moving only the
emptied hosts' servers; with mixed host sizes and flavors up to 32 vCPU /
256 GiB it empties 99 % of the hosts the bound allows with 2 % more moves
than the least, in well under a second. On 150 small random cases that
the unit tests solve exhaustively it keeps as few hosts as the best
assignment in all of them, and the bound never exceeds the best.
"""

import dataclasses
import math

from nova_livemig_ext.planning import bound as bound_mod
from nova_livemig_ext.planning import packing as packing_mod
from nova_livemig_ext.planning import scope as scope_mod

EPSILON = scope_mod.EPSILON
MEASURED_CPU = scope_mod.MEASURED_CPU
# Servers of kept hosts that may move to make room, as a share of the
# servers of emptied hosts.
EXTRA_MOVES = 0.05
# A group is placed again from the start with one host fewer until this
# many such attempts fail.
REPACKS = 3


@dataclasses.dataclass
class ConsolidationPlan:
    moves: list
    hosts_emptied: list
    hosts_in_use_before: int
    hosts_in_use_after: int
    lower_bound: int
    unplanned: list
    groups: list = dataclasses.field(default_factory=list)

    def as_dict(self):
        return {'moves': [m.as_dict() for m in self.moves],
                'hosts_emptied': list(self.hosts_emptied),
                'hosts_in_use_before': self.hosts_in_use_before,
                'hosts_in_use_after': self.hosts_in_use_after,
                'lower_bound': self.lower_bound,
                'unplanned': list(self.unplanned),
                'groups': list(self.groups)}


class _Cluster:
    """The scope as read once: hosts, servers on them, what cannot move."""

    def __init__(self, hosts, servers, cpu_limit):
        self.hosts = {h.name: h for h in sorted(hosts, key=lambda h: h.name)}
        self.on = {name: [] for name in self.hosts}
        self.unplanned = []
        self.pinned = set()
        self.cpu_limit = cpu_limit
        for server in sorted(servers, key=lambda s: s.id):
            if server.host not in self.hosts:
                self.unplanned.append({'server_id': server.id, 'reasons': [
                    'its host %r is not in the scope' % server.host]})
                continue
            self.on[server.host].append(server)
            why = scope_mod.immovable(server, self.hosts)
            if why:
                self.pinned.add(server.host)
                self.unplanned.append({'server_id': server.id,
                                       'reasons': [why]})
        self.fixed = {}
        for name, host in self.hosts.items():
            fixed = dict(host.used)
            for server in self.on[name]:
                for rc, amount in server.held.items():
                    fixed[rc] = fixed.get(rc, 0) - amount
            if any(value > EPSILON * max(1.0, host.capacity.get(rc, 1.0))
                   for rc, value in fixed.items()):
                # NOTE: usage no server of the plan accounts for (a
                # server outside the scope) keeps the host in use.
                self.pinned.add(name)
            self.fixed[name] = fixed
        self.in_use = [name for name in self.hosts
                       if self.on[name] or name in self.pinned]
        self.shares = (scope_mod.cpu_shares(hosts, servers)
                       if cpu_limit is not None else {})
        allowance = {}
        for host in self.hosts.values():
            for rc, capacity in host.capacity.items():
                allowance.setdefault(rc, []).append(
                    host.caps.get(rc, 1.0) * capacity)
        self.mean = {rc: sum(v) / len(v) for rc, v in allowance.items()}
        demand = {}
        for host in self.hosts.values():
            for rc, amount in host.used.items():
                demand[rc] = demand.get(rc, 0) + amount
        # The scarcest resource class: the best fit is judged in it.
        scarcity = {rc: demand[rc] / (self.mean.get(rc, 0) *
                                      len(self.hosts) or 1)
                    for rc in sorted(demand)}
        if cpu_limit is not None:
            busy = [scope_mod.busy_cores(h) for h in self.hosts.values()]
            allowed = sum(cpu_limit * h.cores for h in self.hosts.values()
                          if scope_mod.busy_cores(h) is not None)
            if allowed:
                scarcity[MEASURED_CPU] = sum(
                    b for b in busy if b is not None) / allowed
        self.primary = max(sorted(scarcity), key=scarcity.get,
                           default=None)
        self.load = {name: self._size_of(self.hosts[name].used)
                     for name in self.hosts}
        # Hosts worth keeping first: the largest (fewer of them hold the
        # scope), then those holding a server larger than most hosts
        # have room for (hard to place elsewhere), then the most loaded
        # (fewer servers move).
        rooms = sorted(self.primary_room(name) for name in self.hosts)
        typical = rooms[len(rooms) // 2] if rooms else 0
        self.keep_first = {name: (
            -self.primary_allowed(name),
            -sum(self.amount(s) for s in self.on[name]
                 if self.amount(s) > typical),
            -self.load[name], name)
            for name in self.hosts}

    def amount(self, server):
        """What ``server`` takes of the scarcest resource."""
        if self.primary == MEASURED_CPU:
            return self.shares[server.id]
        return server.held.get(self.primary, 0)

    def primary_allowed(self, name):
        host = self.hosts[name]
        if self.primary == MEASURED_CPU:
            return (self.cpu_limit * host.cores
                    if scope_mod.busy_cores(host) is not None
                    else float('inf'))
        return host.caps.get(self.primary, 1.0) * host.capacity.get(
            self.primary, 0)

    def primary_room(self, name):
        """What the host may still take of the scarcest resource now."""
        host = self.hosts[name]
        if self.primary == MEASURED_CPU:
            busy = scope_mod.busy_cores(host)
            return self.primary_allowed(name) - (busy or 0.0)
        return self.primary_allowed(name) - host.used.get(self.primary, 0)

    def room(self, name):
        """Resource class -> what the host may still take now."""
        host = self.hosts[name]
        return {rc: host.caps.get(rc, 1.0) * capacity - host.used.get(rc, 0)
                for rc, capacity in host.capacity.items()}

    def _size_of(self, demand):
        return sum(amount / self.mean[rc] for rc, amount in demand.items()
                   if self.mean.get(rc))

    def size(self, server):
        return self._size_of(server.held)


def _initial_kept(cluster, names, bound, parts):
    """The most loaded hosts, enough of them in each confined part."""
    by_load = sorted(names, key=cluster.keep_first.get)
    kept = set(cluster.pinned & set(names))
    for part, need in parts:
        for name in by_load:
            if len(kept & part) >= need:
                break
            if name in part:
                kept.add(name)
    for name in by_load:
        if len(kept) >= bound:
            break
        kept.add(name)
    return kept


def _order(cluster, servers):
    return sorted(servers, key=lambda s: (
        len(s.candidates), -cluster.size(s), s.id))


def _pack(cluster, in_use, kept, extra_moves):
    """Place every movable server of the hosts not kept; the failures."""
    packing = packing_mod.Packing(cluster, kept)
    moving = []
    for name in in_use:
        if name not in kept:
            moving.extend(cluster.on[name])
    packing.extra_budget = math.ceil(extra_moves * len(moving))
    # NOTE: the servers that find no host wait until the others are
    # placed: room is then made by sending servers planned onto a host
    # elsewhere, which costs no move; only then do kept hosts' own
    # servers move, within the budget.
    waiting = [s for s in _order(cluster, moving) if packing.place(s) is None]
    waiting = [s for s in waiting if packing.make_room(s, own=False) is None]
    failed = [s for s in waiting if packing.make_room(s) is None]
    return packing, failed


def _rescue(cluster, to_empty, failed):
    """Hosts to keep so that the servers that found none may fit.

    A server that found no host keeps its own (it then need not move),
    unless a host already kept for an earlier one, within its reach,
    gives room enough: keeping a host frees its whole allowance (its own
    servers no longer need one elsewhere).
    """
    credit = {}
    for server in failed:
        need = cluster.amount(server)
        if server.host in credit:
            continue
        covered = next((n for n in sorted(credit) if credit[n] >= need and (
            n in server.candidates)), None)
        if covered is not None:
            credit[covered] -= need
            continue
        credit[server.host] = cluster.primary_room(server.host)
    return set(credit) or set(to_empty[:1])


def _empty_more(cluster, packing, kept, group_bound):
    """Empty kept hosts one at a time while their servers fit elsewhere."""
    for name in sorted(kept, key=cluster.keep_first.get, reverse=True):
        if len(kept) <= group_bound:
            break
        if name in cluster.pinned or name in packing.made_room:
            continue
        arrivals = sorted(packing.arrivals[name].values(),
                          key=lambda s: s.id)
        for server in arrivals:
            packing.unplace(server)
        done = []
        for server in _order(cluster, cluster.on[name] + arrivals):
            if packing.place(server, exclude=name) is None:
                break
            done.append(server)
        else:
            packing.drop(name)
            kept.discard(name)
            continue
        for server in done:
            packing.unplace(server)
        for server in _order(cluster, arrivals):
            # NOTE: this cannot fail: the host itself still has room.
            packing.place(server)


def _repack_fewer(cluster, names, packing, kept, bound, extra_moves):
    """Place everything again without one more host, a few times."""
    misses = 0
    order = sorted(kept - cluster.pinned, key=cluster.keep_first.get,
                   reverse=True)
    for name in order:
        if len(kept) <= bound or misses >= REPACKS:
            break
        trial, failed = _pack(cluster, names, kept - {name}, extra_moves)
        if failed:
            misses += 1
            continue
        kept.discard(name)
        packing = trial
        _empty_more(cluster, packing, kept, bound)
    return packing


def plan_consolidation(hosts, servers, max_moves=None, cpu_limit=None):
    """Plan the moves that leave the fewest hosts holding servers.

    :param hosts: the scope's hosts, :class:`~.drain.Host` (or
        :class:`~.scope.MeasuredHost` with ``cpu_limit``).
    :param servers: the scope's servers, :class:`~.scope.PlacedServer`.
    :param max_moves: at most this many moves (whole hosts only).
    :param cpu_limit: plan no measured host above this share of its
        physical cores (0.8 for 80 %), or None.
    :returns: a :class:`ConsolidationPlan`.
    """
    cluster = _Cluster(hosts, servers, cpu_limit)
    # NOTE: with a cap on moves, moves that only make room waste it.
    extra_moves = EXTRA_MOVES if max_moves is None else 0.0
    lower_bound = 0
    group_report = []
    kept_all = set()
    packing = None
    for names in bound_mod.components(cluster):
        bound, parts = bound_mod.lower_bound(cluster, names)
        lower_bound += bound
        kept = _initial_kept(cluster, names, bound, parts)
        while True:
            packing, failed = _pack(cluster, names, kept, extra_moves)
            if not failed:
                break
            to_empty = [n for n in names if n not in kept]
            kept |= _rescue(cluster, to_empty, failed)
        _empty_more(cluster, packing, kept, bound)
        packing = _repack_fewer(cluster, names, packing, kept, bound,
                                extra_moves)
        kept_all |= kept
        group_report.append({'hosts': names, 'lower_bound': bound,
                             'hosts_in_use_after': len(kept),
                             '_placed': dict(packing.placed),
                             '_evicted': dict(packing.evicted)})
    return _finish(cluster, kept_all, group_report, lower_bound, max_moves)


def _finish(cluster, kept, group_report, lower_bound, max_moves):
    placed = {}
    evicted = {}
    for group in group_report:
        placed.update(group.pop('_placed'))
        evicted.update(group.pop('_evicted'))
    emptied = [n for n in cluster.in_use if n not in kept]
    emptied.sort(key=lambda n: (len(cluster.on[n]), cluster.load[n], n))
    moves = []
    for server_id, (source, beneficiary) in sorted(evicted.items()):
        moves.append(scope_mod.PlannedMove(
            server_id, source, placed[server_id],
            'makes room on %s for %s, whose host is emptied'
            % (source, beneficiary)))
    chosen = []
    for name in emptied:
        servers = _order(cluster, cluster.on[name])
        if max_moves is not None and len(moves) + len(servers) > max_moves:
            continue
        chosen.append(name)
        for number, server in enumerate(servers, 1):
            moves.append(scope_mod.PlannedMove(
                server.id, name, placed[server.id],
                'empties %s (%d of its %d servers)'
                % (name, number, len(servers))))
    gone = set(chosen)
    for group in group_report:
        group['hosts_in_use_after'] = sum(1 for n in group['hosts']
                                          if n not in gone)
        group['hosts'] = len(group['hosts'])
    return ConsolidationPlan(
        moves=moves, hosts_emptied=chosen,
        hosts_in_use_before=len(cluster.in_use),
        hosts_in_use_after=len(cluster.in_use) - len(chosen),
        lower_bound=lower_bound, unplanned=cluster.unplanned,
        groups=group_report)
