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

"""Drain planning: a destination for every server of a host, or why none.

Largest servers first (by the sum over resource classes of what they take
of an average host), each to the candidate host that keeps the most
headroom after it lands (``spread``) or the least that still fits
(``pack``), counting the servers planned before it. Every destination
stays within its caps when all the moves are done, and at every point in
the order, since moves only add to destinations. Members of one
anti-affinity group never share a host; members of an affinity group are
reported, not planned: nova keeps them on the hosts of the group's other
members, so one cannot leave alone.

Greedy placement is not always the best: on 300 small random cases that
the unit tests enumerate exhaustively (2 or 3 hosts, 2 to 6 servers), it
placed every server in 205 of the 206 cases where some assignment does,
and never planned past a cap.
"""

import dataclasses

SPREAD = 'spread'
PACK = 'pack'
# Placement's capacities can be fractions (ratios); compare with slack.
EPSILON = 1e-9


@dataclasses.dataclass(frozen=True)
class Server:
    """A server to move off the drained host.

    :param demand: resource class -> what the move takes from a host.
    :param candidates: host -> the demand on that host when it differs
        (nova's PCPU to VCPU fallback), else None: the hosts every rule
        that does not depend on usage accepts.
    :param refused: host -> why a rule that does not depend on usage
        refuses it, for the hosts not in ``candidates``.
    :param anti_affinity: the server's anti-affinity group, if any.
    :param affinity: the server's affinity group, if any.
    """

    id: str
    demand: dict
    candidates: dict
    name: str = ''
    refused: dict = dataclasses.field(default_factory=dict)
    anti_affinity: str | None = None
    affinity: str | None = None


@dataclasses.dataclass(frozen=True)
class Host:
    """A possible destination as placement and the caps see it.

    :param capacity: resource class -> ``(total - reserved) x ratio``.
    :param used: resource class -> used now (placement).
    :param caps: resource class -> the max utilization in force.
    :param groups: anti-affinity groups with a member on the host now.
    """

    name: str
    capacity: dict
    used: dict
    caps: dict
    groups: frozenset = frozenset()


@dataclasses.dataclass
class Move:
    """One server's move, or why it has none.

    :param reasons: sentences, for a server without a destination.
    :param refusals: host -> :class:`Refusal` of the candidate hosts the
        moves planned before it ruled out.
    """

    server_id: str
    name: str
    destination: str | None
    reasons: list = dataclasses.field(default_factory=list)
    refusals: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Refusal:
    """Why a candidate host cannot take a server once earlier moves land.

    :param rule: ``vacant_resources`` (a cap), ``placement`` (capacity)
        or ``anti_affinity`` (a member of the server's group).
    """

    rule: str
    message: str
    details: dict = dataclasses.field(default_factory=dict)

    def __str__(self):
        return self.message


VACANT_RESOURCES = 'vacant_resources'
PLACEMENT = 'placement'
ANTI_AFFINITY = 'anti_affinity'


@dataclasses.dataclass
class DrainPlan:
    host: str
    moves: list
    hosts_after: dict

    @property
    def feasible(self):
        return all(move.destination is not None for move in self.moves)


class _Load:
    """A host's usage as the planned moves land on it."""

    def __init__(self, host):
        self.host = host
        self.used = dict(host.used)
        self.groups = set(host.groups)

    def refusal(self, server, demand):
        """Why ``server`` cannot land here now, or None."""
        refusal = self.refusal_of(server, demand)
        return None if refusal is None else refusal.message

    def refusal_of(self, server, demand):
        """The :class:`Refusal` of ``server`` here now, or None.

        Caps may not exceed 1 (the options and aggregate overrides are
        fractions), but capacity is checked as well, as placement does.
        """
        if server.anti_affinity and server.anti_affinity in self.groups:
            return Refusal(
                ANTI_AFFINITY, 'a member of anti-affinity group %s is or '
                'will be there' % server.anti_affinity,
                {'server_group': server.anti_affinity})
        for rc, amount in sorted(demand.items()):
            capacity = self.host.capacity.get(rc)
            if capacity is None:
                return Refusal(
                    PLACEMENT, '%s: requested %g, the host has none'
                    % (rc, amount), {'resource_class': rc,
                                     'requested': amount})
            used = self.used.get(rc, 0)
            cap = self.host.caps.get(rc, 1.0)
            allowed = min(cap, 1.0) * capacity
            if used + amount > allowed + EPSILON:
                # placement judges before the constraints do.
                rule = (PLACEMENT if used + amount > capacity + EPSILON
                        else VACANT_RESOURCES)
                return Refusal(
                    rule, '%s: requested %g, allowed %g of capacity %g at '
                    '%g (used %g with the moves planned before)'
                    % (rc, amount, max(allowed - used, 0), capacity,
                       cap, used),
                    {'resource_class': rc, 'requested': amount,
                     'allowed': max(allowed - used, 0),
                     'capacity': capacity, 'max_utilization': cap,
                     'used': used})
        return None

    def headroom_after(self, demand):
        """The tightest (allowed - used - demand) / capacity after it."""
        tightest = None
        for rc, amount in demand.items():
            capacity = self.host.capacity[rc]
            value = ((self.host.caps.get(rc, 1.0) * capacity -
                      self.used.get(rc, 0) - amount) / capacity
                     if capacity else 0.0)
            tightest = value if tightest is None else min(tightest, value)
        return 0.0 if tightest is None else tightest

    def land(self, server, demand):
        for rc, amount in demand.items():
            self.used[rc] = self.used.get(rc, 0) + amount
        if server.anti_affinity:
            self.groups.add(server.anti_affinity)

    def resources(self):
        return {rc: {'capacity': capacity,
                     'used': self.used.get(rc, 0),
                     'allowed': self.host.caps.get(rc, 1.0) * capacity}
                for rc, capacity in sorted(self.host.capacity.items())}


def _size(server, means):
    return sum(amount / means[rc] for rc, amount in server.demand.items()
               if means.get(rc))


def plan_drain(host, servers, hosts, strategy=SPREAD):
    """Plan the moves that empty ``host``.

    :param servers: the :class:`Server` objects on ``host``.
    :param hosts: the other hosts, :class:`Host` objects.
    :returns: a :class:`DrainPlan`; moves in the order to make them.
    """
    loads = {h.name: _Load(h) for h in hosts}
    means = {}
    for h in hosts:
        for rc, capacity in h.capacity.items():
            means.setdefault(rc, []).append(capacity)
    means = {rc: sum(values) / len(values) for rc, values in means.items()}
    order = sorted(servers, key=lambda s: (-_size(s, means), s.id))
    moves = []
    for server in order:
        moves.append(_place(server, loads, strategy))
    return DrainPlan(host=host, moves=moves,
                     hosts_after={name: load.resources()
                                  for name, load in sorted(loads.items())})


def _place(server, loads, strategy):
    if server.affinity:
        return Move(server.id, server.name, None, [
            'member of affinity group %s: nova keeps it with the group\'s '
            'other members, so it cannot be moved alone' % server.affinity])
    if not server.candidates:
        return Move(server.id, server.name, None, [
            '%s: %s' % item for item in sorted(server.refused.items())] or
            ['no other host'])
    best = None
    reasons = []
    refusals = {}
    for name in sorted(server.candidates):
        load = loads.get(name)
        if load is None:
            continue
        demand = server.candidates[name] or server.demand
        refusal = load.refusal_of(server, demand)
        if refusal:
            reasons.append('%s: %s' % (name, refusal))
            refusals[name] = refusal
            continue
        headroom = load.headroom_after(demand)
        key = -headroom if strategy == SPREAD else headroom
        if best is None or key < best[0]:
            best = (key, name, demand)
    if best is None:
        reasons += ['%s: %s' % item for item in sorted(server.refused.items())]
        return Move(server.id, server.name, None, reasons, refusals)
    _key, name, demand = best
    loads[name].land(server, demand)
    return Move(server.id, server.name, name)
