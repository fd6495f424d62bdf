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

"""The lower bound on the hosts a scope needs, per group of hosts.

See :mod:`nova_livemig_ext.planning.consolidation` for what it counts.
``cluster`` is the consolidation planner's reading of the scope: hosts,
the servers on each, the hosts that must stay and their fixed usage.
"""

import math

from nova_livemig_ext.planning import scope as scope_mod

EPSILON = scope_mod.EPSILON


def components(cluster):
    """The groups of hosts in use that no server can leave, sorted."""
    parent = {name: name for name in cluster.in_use}

    def find(name):
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    def union(a, b):
        a, b = find(a), find(b)
        if a != b:
            parent[max(a, b)] = min(a, b)

    seen = {}
    for name in cluster.in_use:
        for server in cluster.on[name]:
            if server.affinity:
                continue
            key = id(server.candidates)
            if key not in seen:
                members = [h for h in server.candidates if h in parent]
                for other in members[1:]:
                    union(members[0], other)
                seen[key] = members[0] if members else None
            if seen[key] is not None:
                union(name, seen[key])
    groups = {}
    for name in cluster.in_use:
        groups.setdefault(find(name), []).append(name)
    return sorted(groups.values())


def grain_of(servers):
    """Resource class -> the unit every server's amount is a multiple of.

    Servers of whole amounts (flavors) fill a host only in steps of the
    greatest common divisor of their amounts: a host allowed 353433.6 MB
    holds at most 352256 MB of 2048 MB servers.
    """
    grain = {}
    for server in servers:
        for rc, amount in server.held.items():
            if grain.get(rc, 1) is None:
                continue
            if not float(amount).is_integer() or amount <= 0:
                grain[rc] = None
                continue
            grain[rc] = math.gcd(grain.get(rc, 0), int(amount))
    return {rc: g for rc, g in grain.items() if g}


def allowance(cluster, name, rc, grain):
    host = cluster.hosts[name]
    if rc == scope_mod.MEASURED_CPU:
        # A host without a measurement is not limited by it.
        return (cluster.cpu_limit * host.cores
                if scope_mod.busy_cores(host) is not None else float('inf'))
    allowed = host.caps.get(rc, 1.0) * host.capacity.get(rc, 0)
    step = grain.get(rc)
    if step and abs(cluster.fixed[name].get(rc, 0)) <= EPSILON:
        allowed = math.floor(allowed / step + EPSILON) * step
    return allowed


def hosts_needed(cluster, names, demand, pinned, grain):
    """Fewest of ``names`` whose allowances cover ``demand``."""
    needed = len(pinned) if demand else 0
    for rc, amount in sorted(demand.items()):
        if amount <= EPSILON:
            continue
        allowances = []
        covered = 0.0
        for name in names:
            allowed = allowance(cluster, name, rc, grain)
            if name in pinned:
                covered += allowed
            else:
                allowances.append(allowed)
        count = len(pinned)
        for allowed in sorted(allowances, reverse=True):
            if covered >= amount - EPSILON:
                break
            covered += allowed
            count += 1
        needed = max(needed, count, 1)
    return needed


def add(total, demand):
    for rc, amount in demand.items():
        total[rc] = total.get(rc, 0) + amount


def lower_bound(cluster, names):
    """The lower bound of one group and the parts confined within it."""
    in_group = set(names)
    pinned = cluster.pinned & in_group
    demand = {}
    members = {}
    regions = {}
    region_of = {}
    for name in names:
        add(demand, cluster.hosts[name].used)
        busy = (scope_mod.busy_cores(cluster.hosts[name])
                if cluster.cpu_limit is not None else None)
        if busy is not None:
            # Under a CPU limit, the measured busy cores are a demand of
            # their own: no host may hold more than the limit of its own.
            add(demand, {scope_mod.MEASURED_CPU: busy})
        for server in cluster.on[name]:
            if server.anti_affinity:
                members[server.anti_affinity] = (
                    members.get(server.anti_affinity, 0) + 1)
            if scope_mod.immovable(server, cluster.hosts):
                region = frozenset((name,))
            else:
                key = id(server.candidates)
                if key not in region_of:
                    region_of[key] = frozenset(
                        h for h in server.candidates if h in in_group)
                region = region_of[key]
                if name not in region:
                    region = region | {name}
            add(regions.setdefault(region, {}), server.held)
    grain = grain_of(s for name in names for s in cluster.on[name])
    bound = hosts_needed(cluster, names, demand, pinned, grain)
    # Disjoint parts that servers cannot leave, the smallest first.
    parts = []
    taken = set()
    for region in sorted(regions, key=lambda r: (len(r), min(r))):
        if len(region) < len(in_group) and region.isdisjoint(taken):
            parts.append(region)
            taken |= region
    confined = 0
    needs = []
    for part in parts:
        part_demand = {}
        for region, region_demand in regions.items():
            if region <= part:
                add(part_demand, region_demand)
        for name in part:
            add(part_demand, {rc: max(v, 0)
                              for rc, v in cluster.fixed[name].items()})
        need = hosts_needed(cluster, sorted(part), part_demand,
                            pinned & part, grain)
        confined += need
        needs.append((part, need))
    largest_group = max(members.values(), default=0)
    return max(bound, confined + len(pinned - taken), largest_group), needs
