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

"""Benchmark: the consolidation and balance planners on synthetic clusters.

Seeded clusters, placed as nova spreads servers (each to the host with the
most free RAM among those its zone, its domain, its anti-affinity group
and the 0.9 caps allow):

* easy: identical hosts of 48 cores / 384 GiB / 4 TB at
  cpu_allocation_ratio 4.0, flavors from 1 vCPU / 2 GiB to
  16 vCPU / 32 GiB;
* hard: hosts of 32 to 96 cores and 256 to 768 GiB, and large and
  memory-heavy flavors as well (up to 32 vCPU / 256 GiB).

Both have 4 zones in 2 migration domains, about half the servers pinned
to their zone (the others may move within their domain) and about 6 % of
the servers in anti-affinity groups of 3. Every planned move is replayed
in order through a checker written here (not the planners' code): the
server's candidates, the caps per resource class at every point, the
anti-affinity groups, and the measured-CPU limit when asked. A
first-fit-decreasing repack, written here, is the baseline. Usage::

    python tools/bench_plans.py [--hosts 1000] [--servers 20000] [--seed 1]
"""

import argparse
import heapq
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from nova_livemig_ext.planning import balance  # noqa: E402
from nova_livemig_ext.planning import consolidation  # noqa: E402
from nova_livemig_ext.planning import scope  # noqa: E402

VCPU, RAM, DISK = 'VCPU', 'MEMORY_MB', 'DISK_GB'
CAP = 0.9
GIB = 1024
EASY_HOSTS = [(48, 384, 4096)]
HARD_HOSTS = [(32, 256, 2048), (48, 384, 4096), (64, 512, 4096),
              (96, 768, 8192)]
# (vcpus, GiB, disk GB), weight
EASY_FLAVORS = [((1, 2, 20), 25), ((2, 4, 40), 30), ((4, 8, 80), 25),
                ((8, 16, 160), 15), ((16, 32, 320), 5)]
HARD_FLAVORS = EASY_FLAVORS + [((4, 32, 80), 8), ((8, 64, 160), 5),
                               ((32, 64, 320), 4), ((16, 128, 320), 3),
                               ((32, 256, 640), 1)]


def make_cluster(n_hosts, n_servers, seed, hard=False):
    """Hosts and servers as nova's spreading would have placed them."""
    rng = random.Random(seed)
    hosts = {}
    zone_of = {}
    shapes = HARD_HOSTS if hard else EASY_HOSTS
    for i in range(n_hosts):
        cores, gib, disk = shapes[rng.randrange(len(shapes))]
        name = 'cmp%04d' % i
        zone_of[name] = 'az%d' % (i % 4)
        hosts[name] = {
            'cores': cores,
            'capacity': {VCPU: cores * 4.0, RAM: gib * GIB - 512.0,
                         DISK: float(disk)},
            'used': {VCPU: 0.0, RAM: 0.0, DISK: 0.0}, 'groups': set(),
            'busy': 0.0}
    zones = sorted(set(zone_of.values()))
    in_zone = {z: {h: None for h in hosts if zone_of[h] == z} for z in zones}
    domain_of = {z: 'dom%d' % (int(z[2:]) // 2) for z in zones}
    in_domain = {}
    for z in zones:
        in_domain.setdefault(domain_of[z], {}).update(in_zone[z])
    flavors = HARD_FLAVORS if hard else EASY_FLAVORS
    heaps = {z: [(-hosts[h]['capacity'][RAM], h) for h in in_zone[z]]
             for z in zones}
    for heap in heaps.values():
        heapq.heapify(heap)
    placed = []
    group_left = 0
    group = None
    for i in range(n_servers):
        (vcpus, gib, disk), = rng.choices([f for f, _ in flavors],
                                          [w for _, w in flavors])
        demand = {VCPU: float(vcpus), RAM: float(gib * GIB),
                  DISK: float(disk)}
        if group_left == 0 and rng.random() < 0.02:
            group, group_left = 'group%d' % i, 3
            group_pinned = rng.random() < 0.5
            group_zone = zones[rng.randrange(len(zones))]
        if group_left:
            group_left -= 1
            pinned, zone = group_pinned, group_zone
            aa = group
        else:
            pinned = rng.random() < 0.5
            zone = zones[rng.randrange(len(zones))]
            aa = None
        host = _spread(hosts, heaps, [zone] if pinned else zones, demand, aa)
        if host is None:
            continue
        h = hosts[host]
        for rc, amount in demand.items():
            h['used'][rc] += amount
        if aa:
            h['groups'].add(aa)
        load = min(1.0, rng.lognormvariate(-1.6, 0.6))
        h['busy'] += load * vcpus
        candidates = (in_zone[zone_of[host]] if pinned
                      else in_domain[domain_of[zone_of[host]]])
        placed.append(('srv%05d' % i, host, demand, candidates, aa, vcpus))
    measured_at = 1_800_000_000.0
    host_objs = [scope.MeasuredHost(
        name, capacity=dict(h['capacity']), used=dict(h['used']),
        caps={rc: CAP for rc in h['capacity']},
        groups=frozenset(h['groups']), cores=h['cores'],
        cpu_percent=min(100.0, 100.0 * h['busy'] / h['cores']),
        measured_at=measured_at - (i % 60))
        for i, (name, h) in enumerate(sorted(hosts.items()))]
    servers = [scope.PlacedServer(sid, demand=demand, candidates=cands,
                                  host=host, anti_affinity=aa)
               for sid, host, demand, cands, aa, _v in placed]
    return host_objs, servers


def _spread(hosts, heaps, zones, demand, group):
    """The host with the most free RAM that fits, as nova's RAM weigher."""
    best = None
    for z in zones:
        heap = heaps[z]
        popped = []
        while heap:
            free, name = heap[0]
            h = hosts[name]
            real = h['used'][RAM] - h['capacity'][RAM]
            if free != real:
                heapq.heapreplace(heap, (real, name))
                continue
            if (group not in h['groups'] and all(
                    h['used'][rc] + a <= CAP * h['capacity'][rc] + 1e-9
                    for rc, a in demand.items())):
                if best is None or (free, name) < best[:2]:
                    best = (free, name, z)
                break
            popped.append(heapq.heappop(heap))
        for item in popped:
            heapq.heappush(heap, item)
    if best is None:
        return None
    # NOTE: the chosen host's heap entry is stale once it is used; it is
    # corrected when it next comes to the top.
    return best[1]


class Checker:
    """Replays moves in order, as nova would judge each one. Independent."""

    def __init__(self, hosts, servers, cpu_limit=None):
        self.hosts = {h.name: h for h in hosts}
        self.used = {h.name: dict(h.used) for h in hosts}
        self.members = {h.name: {} for h in hosts}
        self.servers = {s.id: s for s in servers}
        self.where = {s.id: s.host for s in servers}
        self.cpu_limit = cpu_limit
        self.busy = {h.name: h.busy_cores for h in hosts}
        vcpus_on = {}
        for s in servers:
            vcpus_on[s.host] = vcpus_on.get(s.host, 0) + s.demand[VCPU]
            if s.anti_affinity:
                m = self.members[s.host]
                m[s.anti_affinity] = m.get(s.anti_affinity, 0) + 1
        self.share = {s.id: self.busy[s.host] * s.demand[VCPU] /
                      vcpus_on[s.host] for s in servers}
        self.moved = set()

    def move(self, server_id, source, destination):
        s = self.servers[server_id]
        why = None
        if self.where[server_id] != source:
            why = 'not on its source'
        elif server_id in self.moved:
            why = 'moved twice'
        elif destination not in s.candidates or destination == source:
            why = 'destination not a candidate (zone or domain)'
        elif s.affinity:
            why = 'affinity member moved alone'
        elif s.anti_affinity and self.members[destination].get(
                s.anti_affinity):
            why = 'anti-affinity'
        else:
            h = self.hosts[destination]
            for rc, amount in s.demand.items():
                if (self.used[destination][rc] + amount >
                        h.caps[rc] * h.capacity[rc] + 1e-6):
                    why = 'cap %s' % rc
            if (self.cpu_limit is not None and
                    self.busy[destination] + self.share[server_id] >
                    self.cpu_limit * h.cores + 1e-6):
                why = 'measured CPU limit'
        for rc, amount in s.demand.items():
            self.used[source][rc] -= amount
            self.used[destination][rc] += amount
        self.busy[source] -= self.share[server_id]
        self.busy[destination] += self.share[server_id]
        if s.anti_affinity:
            self.members[source][s.anti_affinity] -= 1
            m = self.members[destination]
            m[s.anti_affinity] = m.get(s.anti_affinity, 0) + 1
        self.where[server_id] = destination
        self.moved.add(server_id)
        return why

    def replay(self, moves):
        refusals = {}
        for m in moves:
            why = self.move(m.server_id, m.source, m.destination)
            if why:
                refusals[why] = refusals.get(why, 0) + 1
        return refusals

    def in_use(self):
        return len(set(self.where.values()))

    def max_cpu(self, moves):
        """The busiest destination's measured CPU, over its cores."""
        return max((self.busy[m.destination] /
                    self.hosts[m.destination].cores for m in moves),
                   default=0.0)


def ffd(hosts, servers, zones=True):
    """Baseline: repack every server first-fit decreasing, hosts in order.

    Bins are the hosts, most loaded first (so that many servers stay);
    each server, largest first, goes to the first bin its candidates,
    the caps and its anti-affinity group allow. Moves are the servers
    whose bin is not their host, in the order packed. With ``zones``
    False, candidates are ignored, as a planner that knows nothing of
    pinned zones and migration domains would.
    """
    order = sorted(hosts, key=lambda h: (-sum(
        h.used[rc] / h.capacity[rc] for rc in h.capacity), h.name))
    used = {h.name: {rc: 0.0 for rc in h.capacity} for h in hosts}
    groups = {h.name: set() for h in hosts}
    moves = []
    for s in sorted(servers, key=lambda s: (-s.demand[VCPU] -
                                            s.demand[RAM] / 2048, s.id)):
        for h in order:
            if (zones and h.name not in s.candidates and
                    h.name != s.host):
                continue
            if s.anti_affinity in groups[h.name]:
                continue
            if all(used[h.name][rc] + a <= h.caps[rc] * h.capacity[rc] + 1e-9
                   for rc, a in s.demand.items()):
                for rc, a in s.demand.items():
                    used[h.name][rc] += a
                if s.anti_affinity:
                    groups[h.name].add(s.anti_affinity)
                if h.name != s.host:
                    moves.append(scope.PlannedMove(s.id, s.host, h.name,
                                                   'ffd'))
                break
    return moves


def judge(name, hosts, servers, moves, seconds, bound, cpu_limit=None):
    checker = Checker(hosts, servers, cpu_limit)
    before = checker.in_use()
    refusals = checker.replay(moves)
    after = checker.in_use()
    by_id = {s.id: s for s in servers}
    emptied = {s.host for s in servers} - set(checker.where.values())
    least = sum(1 for s in servers if s.host in emptied)
    allowed = before - bound
    return {'planner': name, 'before': before, 'bound': bound,
            'after': after, 'emptied': before - after,
            'of_allowed': 100.0 * (before - after) / allowed if allowed
            else 100.0,
            'moves': len(moves), 'ratio': len(moves) / least if least
            else 0.0,
            'gib': sum(by_id[m.server_id].demand[RAM] for m in moves) / GIB,
            'refused': sum(refusals.values()), 'why': refusals,
            'cpu': 100.0 * checker.max_cpu(moves), 'seconds': seconds}


def run_consolidation(label, hosts, servers):
    rows = []
    started = time.perf_counter()
    plan = consolidation.plan_consolidation(hosts, servers)
    took = time.perf_counter() - started
    rows.append(judge('planner', hosts, servers, plan.moves, took,
                      plan.lower_bound))
    started = time.perf_counter()
    capped = consolidation.plan_consolidation(hosts, servers, cpu_limit=0.8)
    took = time.perf_counter() - started
    rows.append(judge('planner, CPU <= 80 %', hosts, servers, capped.moves,
                      took, capped.lower_bound, cpu_limit=0.8))
    started = time.perf_counter()
    moves = ffd(hosts, servers)
    took = time.perf_counter() - started
    rows.append(judge('FFD baseline', hosts, servers, moves, took,
                      plan.lower_bound))
    started = time.perf_counter()
    moves = ffd(hosts, servers, zones=False)
    took = time.perf_counter() - started
    rows.append(judge('FFD, zones ignored', hosts, servers, moves, took,
                      plan.lower_bound))
    print('\nConsolidation, %s cluster: %d hosts, %d servers' % (
        label, len(hosts), len(servers)))
    print('%-22s %6s %6s %6s %7s %9s %6s %6s %8s %7s %7s %6s' % (
        'planner', 'before', 'bound', 'after', 'emptied', '% allowed',
        'moves', 'ratio', 'GiB', 'refused', 'CPU %', 'time'))
    for r in rows:
        print('%-22s %6d %6d %6d %7d %9.1f %6d %6.3f %8.0f %7d %7.1f %6.2f'
              % (r['planner'], r['before'], r['bound'], r['after'],
                 r['emptied'], r['of_allowed'], r['moves'], r['ratio'],
                 r['gib'], r['refused'], r['cpu'], r['seconds']))
        if r['why']:
            print('    refused: %s' % r['why'])


def run_balance(label, hosts, servers, max_moves):
    print('\nBalance, %s cluster (max_moves=%d)' % (label, max_moves))
    print('%-10s %8s %8s %6s %7s %6s' % (
        'measure', 'before', 'after', 'moves', 'refused', 'time'))
    for measure in ('allocation', 'cpu'):
        started = time.perf_counter()
        plan = balance.plan_balance(hosts, servers, max_moves,
                                    measure=measure, cpu_limit=0.8,
                                    now=1_800_000_000.0)
        took = time.perf_counter() - started
        checker = Checker(hosts, servers,
                          cpu_limit=0.8 if measure == 'cpu' else None)
        refusals = checker.replay(plan.moves)
        print('%-10s %8.4f %8.4f %6d %7d %6.2f' % (
            measure, plan.spread_before, plan.spread_after, len(plan.moves),
            sum(refusals.values()), took))
        if refusals:
            print('    refused: %s' % refusals)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=1000)
    parser.add_argument('--servers', type=int, default=20000)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--max-moves', type=int, default=100)
    parser.add_argument('--only', choices=('easy', 'hard'))
    args = parser.parse_args()
    for label, hard in (('easy', False), ('hard', True)):
        if args.only and args.only != label:
            continue
        hosts, servers = make_cluster(args.hosts, args.servers, args.seed,
                                      hard=hard)
        run_consolidation(label, hosts, servers)
        run_balance(label, hosts, servers, args.max_moves)


if __name__ == '__main__':
    main()
