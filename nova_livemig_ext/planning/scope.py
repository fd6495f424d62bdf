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

"""What the consolidation and balance planners share.

A scope is hosts (:class:`nova_livemig_ext.planning.drain.Host`, or
:class:`MeasuredHost` when nova's compute monitors publish ``cpu.percent``)
and the servers on them (:class:`PlacedServer`: a drain server that also
knows where it runs). :class:`ScopeLoad` is drain's usage arithmetic with
servers that leave as well as land, so both planners refuse exactly what
the drain planner refuses.
"""

import dataclasses

from nova_livemig_ext.planning import drain

EPSILON = drain.EPSILON
# The scarcest resource when it is the measured CPU, not a resource class.
MEASURED_CPU = 'measured CPU'
CPU_CLASSES = ('VCPU', 'PCPU')


@dataclasses.dataclass(frozen=True)
class PlacedServer(drain.Server):
    """A server in a scope, on its host now.

    :param host: the host it runs on.
    :param allocation: resource class -> what it holds on ``host`` now,
        when that differs from ``demand``.
    """

    host: str = ''
    allocation: dict | None = None

    @property
    def held(self):
        return self.allocation or self.demand

    @property
    def vcpus(self):
        return sum(self.held.get(rc, 0) for rc in CPU_CLASSES)

    @property
    def ram_mb(self):
        return self.held.get('MEMORY_MB', 0)


@dataclasses.dataclass(frozen=True)
class MeasuredHost(drain.Host):
    """A host with what nova's compute monitors last measured on it.

    :param cores: physical cores (``cpu.percent`` is over these).
    :param cpu_percent: ``cpu.percent`` of the compute node's metrics, or
        None when it publishes none.
    :param measured_at: when it was measured, seconds since the epoch.
    """

    cores: int = 0
    cpu_percent: float | None = None
    measured_at: float | None = None

    @property
    def busy_cores(self):
        if self.cpu_percent is None or not self.cores:
            return None
        return self.cpu_percent / 100.0 * self.cores


@dataclasses.dataclass
class PlannedMove:
    """One live migration of a plan, in the order to make it."""

    server_id: str
    source: str
    destination: str
    why: str

    def as_dict(self):
        return dataclasses.asdict(self)


def busy_cores(host):
    """Measured busy physical cores of ``host``, or None."""
    return getattr(host, 'busy_cores', None)


def cpu_shares(hosts, servers):
    """Each server's estimated share of its host's measured CPU, in cores.

    The monitors measure hosts, not servers: a host's busy cores are split
    over its servers in proportion to their vCPUs. A server on a host with
    no measurement counts as busy on every vCPU, the cautious guess.
    """
    by_name = {h.name: h for h in hosts}
    vcpus_on = {}
    for server in servers:
        vcpus_on[server.host] = vcpus_on.get(server.host, 0) + server.vcpus
    shares = {}
    for server in servers:
        host = by_name.get(server.host)
        busy = busy_cores(host) if host is not None else None
        if busy is None or not vcpus_on.get(server.host):
            shares[server.id] = float(server.vcpus)
        else:
            shares[server.id] = busy * server.vcpus / vcpus_on[server.host]
    return shares


def utilization(capacity, used):
    """The tightest resource class's used / capacity."""
    return max((used.get(rc, 0) / amount
                for rc, amount in capacity.items() if amount), default=0.0)


class ScopeLoad(drain._Load):
    """A host's usage as servers leave it and land on it.

    Anti-affinity groups are counted: a group stays on the host while a
    member does, or for good when the host reports the group with no
    member in the scope (a member outside the plan).

    :param servers: the scope's servers on this host now.
    :param cpu_limit: the largest share of the physical cores a host may
        be planned to, or None; applies to measured hosts only.
    :param shares: server id -> estimated busy cores (see
        :func:`cpu_shares`), needed with ``cpu_limit``.
    """

    def __init__(self, host, servers=(), cpu_limit=None, shares=None):
        super().__init__(host)
        self.members = {}
        for server in servers:
            if server.anti_affinity:
                self.members[server.anti_affinity] = (
                    self.members.get(server.anti_affinity, 0) + 1)
        self.outside = set(host.groups) - set(self.members)
        self.cpu_limit = cpu_limit
        self.shares = shares or {}
        self.busy = busy_cores(host)

    def refusal(self, server, demand):
        why = super().refusal(server, demand)
        if why or self.cpu_limit is None or self.busy is None:
            return why
        share = self._share(server)
        allowed = self.cpu_limit * self.host.cores
        if self.busy + share > allowed + EPSILON:
            return ('measured CPU: %.1f busy cores of %d with the moves '
                    'planned before, %.1f more would pass %g of them'
                    % (self.busy, self.host.cores, share, self.cpu_limit))
        return None

    def fits(self, server, demand):
        """Whether :meth:`refusal` would be None, without the words."""
        if server.anti_affinity and server.anti_affinity in self.groups:
            return False
        capacity, caps, used = self.host.capacity, self.host.caps, self.used
        for rc, amount in demand.items():
            total = capacity.get(rc)
            if total is None or (used.get(rc, 0) + amount >
                                 caps.get(rc, 1.0) * total + EPSILON):
                return False
        if self.cpu_limit is not None and self.busy is not None:
            if (self.busy + self._share(server) >
                    self.cpu_limit * self.host.cores + EPSILON):
                return False
        return True

    def _share(self, server):
        share = self.shares.get(server.id)
        return float(server.vcpus) if share is None else share

    def land(self, server, demand):
        super().land(server, demand)
        if server.anti_affinity:
            self.members[server.anti_affinity] = (
                self.members.get(server.anti_affinity, 0) + 1)
        if self.busy is not None:
            self.busy += self._share(server)

    def leave(self, server, demand):
        for rc, amount in demand.items():
            self.used[rc] = self.used.get(rc, 0) - amount
        group = server.anti_affinity
        if group:
            self.members[group] = self.members.get(group, 0) - 1
            if self.members[group] <= 0 and group not in self.outside:
                self.groups.discard(group)
        if self.busy is not None:
            self.busy -= self._share(server)

    def utilization(self):
        return utilization(self.host.capacity, self.used)


def immovable(server, names):
    """Why ``server`` cannot move within the scope ``names``, or None."""
    if server.affinity:
        return ('member of affinity group %s: nova keeps it with the '
                'group\'s other members, so it cannot be moved alone'
                % server.affinity)
    if not any(name in names and name != server.host
               for name in server.candidates):
        reasons = ['%s: %s' % item for item in sorted(server.refused.items())]
        return '; '.join(reasons) or 'no other host of the scope accepts it'
    return None
