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

"""Best-fit placement onto the hosts a consolidation keeps.

The kept hosts' usage as servers land (:class:`~.scope.ScopeLoad`),
indexed by the room left in the scope's scarcest resource, so that the
host that fits a server best is found by bisection; and the making of
room on a kept host for a server that fits nowhere.
"""

import bisect

from nova_livemig_ext.planning import scope as scope_mod

EPSILON = scope_mod.EPSILON


class Packing:
    """The kept hosts' usage as servers land, indexed by room left."""

    def __init__(self, cluster, kept):
        self.cluster = cluster
        self.primary = cluster.primary
        self.loads = {
            name: scope_mod.ScopeLoad(
                cluster.hosts[name], cluster.on[name], cluster.cpu_limit,
                cluster.shares)
            for name in kept}
        self.index = sorted((self._room(name), name) for name in kept)
        self.placed = {}
        self.arrivals = {name: {} for name in kept}
        # Servers of kept hosts moved to make room: id -> (host, for whom).
        self.evicted = {}
        self.made_room = set()
        self.extra_budget = 0

    def _room(self, name):
        load = self.loads[name]
        if self.primary == scope_mod.MEASURED_CPU:
            if load.busy is None:
                return float('inf')
            return self.cluster.cpu_limit * load.host.cores - load.busy
        capacity = load.host.capacity.get(self.primary)
        if capacity is None:
            return 0.0
        return (load.host.caps.get(self.primary, 1.0) * capacity -
                load.used.get(self.primary, 0))

    def _reindex(self, name, before):
        del self.index[bisect.bisect_left(self.index, (before, name))]
        bisect.insort(self.index, (self._room(name), name))

    def place(self, server, exclude=None):
        """Land ``server`` on the kept host that fits it best, or None."""
        need = self.cluster.amount(server)
        start = (bisect.bisect_left(self.index, (need - EPSILON,))
                 if need > 0 else 0)
        candidates = server.candidates
        index = self.index
        for position in range(start, len(index)):
            name = index[position][1]
            if (name not in candidates or name == server.host or
                    name == exclude):
                continue
            load = self.loads[name]
            demand = candidates[name] or server.demand
            if load.fits(server, demand):
                self._land(server, name, demand)
                return name
        return None

    def _land(self, server, name, demand):
        before = self._room(name)
        self.loads[name].land(server, demand)
        self._reindex(name, before)
        self.placed[server.id] = name
        self.arrivals[name][server.id] = server

    def make_room(self, server, tries=3, own=True):
        """Land ``server`` on a kept host once a few servers leave it.

        Tried on the kept hosts with the most room: servers planned onto
        the host go elsewhere instead (no extra move), then, within the
        budget of extra moves, the host's own smallest servers move to
        other kept hosts first (moves listed before the others). Nothing
        changes unless every one of them and ``server`` find a host.
        """
        hosts = [name for _room, name in reversed(self.index)
                 if name in server.candidates and name != server.host]
        for name in hosts[:tries]:
            landed = self._make_room_on(name, server, own)
            if landed:
                return landed
        return None

    def _cover(self, name, pool, deficit):
        """Few servers of ``pool`` that together free ``deficit``, or [].

        The smallest one that frees it alone, else the largest first.
        """
        def held(server):
            return (server.held if server.host == name else
                    server.candidates[name] or server.demand)

        def frees(servers):
            return all(sum(held(s).get(rc, 0) for s in servers) >=
                       amount - EPSILON for rc, amount in deficit.items())

        alone = [s for s in pool if frees([s])]
        if alone:
            best = min(alone, key=lambda s: (
                s.host == name, self.cluster.amount(s), s.id))
            return [(best, held(best))]
        chosen = []
        for server in pool:
            chosen.append(server)
            if frees(chosen):
                return [(s, held(s)) for s in chosen]
        return []

    def _make_room_on(self, name, server, own_allowed):
        load = self.loads[name]
        demand = server.candidates[name] or server.demand
        if server.anti_affinity and server.anti_affinity in load.groups:
            return None
        host = load.host
        deficit = {rc: load.used.get(rc, 0) + amount -
                   host.caps.get(rc, 1.0) * host.capacity.get(rc, 0)
                   for rc, amount in demand.items()}
        deficit = {rc: v for rc, v in deficit.items() if v > EPSILON}
        if not deficit:
            return None
        arrivals = sorted(self.arrivals[name].values(), key=lambda s: (
            -self.cluster.amount(s), s.id))
        own = []
        if own_allowed and self.extra_budget > len(self.evicted):
            own = sorted((s for s in self.cluster.on[name]
                          if s.id not in self.evicted and
                          not scope_mod.immovable(s, self.cluster.hosts)),
                         key=lambda s: (-self.cluster.amount(s), s.id))
        chosen = self._cover(name, arrivals, deficit) or self._cover(
            name, arrivals + own, deficit)
        if not chosen:
            return None
        for candidate, held in chosen:
            if candidate.host == name:
                before = self._room(name)
                load.leave(candidate, held)
                self._reindex(name, before)
            else:
                self.unplace(candidate)
        if load.fits(server, demand):
            self._land(server, name, demand)
            placed = []
            for candidate, _held in chosen:
                if self.place(candidate, exclude=name) is None:
                    break
                placed.append(candidate)
            else:
                for candidate, _held in chosen:
                    if candidate.host == name:
                        self.evicted[candidate.id] = (name, server.id)
                        self.made_room.add(name)
                return name
            for candidate in placed:
                self.unplace(candidate)
            self.unplace(server)
        for candidate, held in chosen:
            if candidate.host == name:
                before = self._room(name)
                load.land(candidate, held)
                self._reindex(name, before)
            else:
                self._land(candidate, name, held)
        return None

    def unplace(self, server):
        name = self.placed.pop(server.id)
        del self.arrivals[name][server.id]
        load = self.loads[name]
        before = self._room(name)
        load.leave(server, server.candidates[name] or server.demand)
        self._reindex(name, before)

    def drop(self, name):
        """Stop using ``name`` as a destination (it is emptied)."""
        del self.index[bisect.bisect_left(self.index,
                                          (self._room(name), name))]
        del self.loads[name]
        del self.arrivals[name]
