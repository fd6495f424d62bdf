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

"""The consolidation planner on tables of hosts, and against exhaustive
search."""

import itertools
import random

from nova_livemig_ext.planning import consolidation
from nova_livemig_ext.planning import drain
from nova_livemig_ext.planning import scope
from tests.unit import base

RAM = 'MEMORY_MB'
CPU = 'VCPU'


def cluster(layout, ram=10, cpu=100, cap=1.0, zones=None, caps=None,
            unpinned=(), **server_kw):
    """Hosts and servers from {host: [(server id, ram[, cpu]), ...]}.

    :param zones: {host: zone}; a server's candidates are its zone's
        hosts (all hosts when None).
    :param unpinned: servers whose candidates are all hosts.
    :param server_kw: server id -> extra PlacedServer fields.
    """
    zones = zones or {name: 'z' for name in layout}
    members = {}
    everywhere = dict.fromkeys(sorted(layout))
    for name in sorted(layout):
        members.setdefault(zones[name], {})[name] = None
    hosts, servers = [], []
    for name, placed in sorted(layout.items()):
        used = {RAM: 0, CPU: 0}
        groups = set()
        for entry in placed:
            sid, amount = entry[0], entry[1]
            vcpus = entry[2] if len(entry) > 2 else 1
            used[RAM] += amount
            used[CPU] += vcpus
            extra = server_kw.get(sid, {})
            if extra.get('anti_affinity'):
                groups.add(extra['anti_affinity'])
            servers.append(scope.PlacedServer(
                sid, demand={RAM: amount, CPU: vcpus},
                candidates=(everywhere if sid in unpinned
                            else members[zones[name]]),
                host=name, **extra))
        host_caps = {RAM: cap, CPU: cap}
        host_caps.update((caps or {}).get(name, {}))
        hosts.append(drain.Host(name, capacity={RAM: ram, CPU: cpu},
                                used=used, caps=host_caps,
                                groups=frozenset(groups)))
    return hosts, servers


def replay(plan, hosts, servers):
    """Apply the moves in order, as nova would judge each; the refusals."""
    used = {h.name: dict(h.used) for h in hosts}
    by_name = {h.name: h for h in hosts}
    where = {s.id: s.host for s in servers}
    members = {h.name: {} for h in hosts}
    for s in servers:
        if s.anti_affinity:
            members[s.host][s.anti_affinity] = (
                members[s.host].get(s.anti_affinity, 0) + 1)
    by_id = {s.id: s for s in servers}
    moved = set()
    refusals = []
    for move in plan.moves:
        s = by_id[move.server_id]
        dest = move.destination
        if where[s.id] != move.source or s.id in moved:
            refusals.append('%s is not on %s' % (s.id, move.source))
        if dest not in s.candidates or dest == move.source:
            refusals.append('%s: %s is no candidate' % (s.id, dest))
        if s.affinity:
            refusals.append('%s moved away from its affinity group' % s.id)
        if s.anti_affinity and members[dest].get(s.anti_affinity):
            refusals.append('%s joins a member of %s on %s' % (
                s.id, s.anti_affinity, dest))
        for rc, amount in s.demand.items():
            used[move.source][rc] -= amount
            used[dest][rc] += amount
            host = by_name[dest]
            if used[dest][rc] > host.caps[rc] * host.capacity[rc] + 1e-9:
                refusals.append('%s passes the %s cap of %s' % (
                    s.id, rc, dest))
        if s.anti_affinity:
            members[move.source][s.anti_affinity] -= 1
            members[dest][s.anti_affinity] = (
                members[dest].get(s.anti_affinity, 0) + 1)
        where[s.id] = dest
        moved.add(s.id)
    for name in getattr(plan, 'hosts_emptied', ()):
        if name in where.values():
            refusals.append('%s is not empty after the plan' % name)
    return refusals


def plan_of(hosts, servers, **kw):
    plan = consolidation.plan_consolidation(hosts, servers, **kw)
    return plan, [(m.server_id, m.source, m.destination) for m in plan.moves]


class ConsolidationPlannerTest(base.TestCase):

    def test_least_loaded_host_is_emptied_into_the_fullest(self):
        hosts, servers = cluster({'h1': [('a', 6)], 'h2': [('b', 3)],
                                  'h3': [('c', 2)]})
        plan, moves = plan_of(hosts, servers)
        self.assertEqual([('c', 'h3', 'h1')], moves)
        self.assertEqual(['h3'], plan.hosts_emptied)
        self.assertEqual((3, 2, 2), (plan.hosts_in_use_before,
                                     plan.hosts_in_use_after,
                                     plan.lower_bound))
        self.assertEqual([], replay(plan, hosts, servers))
        self.assertEqual('empties h3 (1 of its 1 servers)', plan.moves[0].why)

    def test_every_resource_class_has_its_cap(self):
        # h1 has the RAM b needs but its CPU cap leaves no room.
        hosts, servers = cluster(
            {'h1': [('a', 6, 10)], 'h2': [('b', 2, 5)],
             'h3': [('c', 4, 5)]}, caps={'h1': {CPU: 0.1}})
        plan, moves = plan_of(hosts, servers)
        self.assertEqual([('b', 'h2', 'h3')], moves)
        self.assertEqual([], replay(plan, hosts, servers))

    def test_pinned_servers_stay_in_their_zone(self):
        zones = {'a1': 'za', 'a2': 'za', 'b1': 'zb', 'b2': 'zb'}
        hosts, servers = cluster(
            {'a1': [('s1', 4)], 'a2': [('s2', 3)], 'b1': [('s3', 4)],
             'b2': [('s4', 3)]}, zones=zones)
        plan, moves = plan_of(hosts, servers)
        self.assertEqual([('s2', 'a2', 'a1'), ('s4', 'b2', 'b1')], moves)
        self.assertEqual(2, plan.lower_bound)
        self.assertEqual(2, len(plan.groups))
        self.assertEqual([], replay(plan, hosts, servers))

    def test_a_zone_full_of_pinned_servers_keeps_its_hosts(self):
        # The unpinned servers may go anywhere, the pinned ones may not:
        # the bound counts the zone's own need.
        zones = {'a1': 'za', 'a2': 'za', 'b1': 'zb'}
        hosts, servers = cluster(
            {'a1': [('p1', 6)], 'a2': [('p2', 6)], 'b1': [('u1', 2)]},
            zones=zones)
        everywhere = {'a1': None, 'a2': None, 'b1': None}
        servers = [s if s.id != 'u1' else scope.PlacedServer(
            'u1', s.demand, everywhere, host='b1') for s in servers]
        plan, moves = plan_of(hosts, servers)
        self.assertEqual([('u1', 'b1', 'a1')], moves)
        self.assertEqual(2, plan.lower_bound)
        self.assertEqual(2, plan.hosts_in_use_after)

    def test_pinned_servers_stay_in_their_zone_within_a_domain(self):
        # u may go anywhere, so both zones form one group; p2 would fit
        # best on b1, which is in the other zone.
        zones = {'a1': 'za', 'a2': 'za', 'b1': 'zb'}
        hosts, servers = cluster(
            {'a1': [('p1', 5)], 'a2': [('p2', 3)], 'b1': [('u', 7)]},
            zones=zones, unpinned={'u'})
        plan, moves = plan_of(hosts, servers)
        self.assertEqual([('p2', 'a2', 'a1')], moves)
        self.assertEqual(1, len(plan.groups))
        self.assertEqual([], replay(plan, hosts, servers))

    def test_anti_affinity_members_never_share_a_host(self):
        # h1 fits b best, but a member of b's group is there.
        aa = {'a': {'anti_affinity': 'g'}, 'b': {'anti_affinity': 'g'}}
        hosts, servers = cluster({'h1': [('a', 2), ('y', 5)],
                                  'h2': [('b', 2)], 'h3': [('z', 6)]}, **aa)
        plan, moves = plan_of(hosts, servers)
        self.assertEqual([('b', 'h2', 'h3')], moves)
        self.assertEqual([], replay(plan, hosts, servers))

    def test_anti_affinity_group_needs_a_host_per_member(self):
        aa = {'a': {'anti_affinity': 'g'}, 'b': {'anti_affinity': 'g'}}
        hosts, servers = cluster({'h1': [('a', 1)], 'h2': [('b', 1)]}, **aa)
        plan, moves = plan_of(hosts, servers)
        self.assertEqual([], moves)
        self.assertEqual(2, plan.lower_bound)

    def test_affinity_members_keep_their_host(self):
        hosts, servers = cluster({'h1': [('a', 2)], 'h2': [('b', 6)]},
                                 a={'affinity': 'g'})
        plan, moves = plan_of(hosts, servers)
        self.assertEqual([('b', 'h2', 'h1')], moves)
        self.assertEqual(['a'], [u['server_id'] for u in plan.unplanned])
        self.assertIn('affinity group g', plan.unplanned[0]['reasons'][0])

    def test_a_full_scope_plans_nothing(self):
        hosts, servers = cluster({'h1': [('a', 6)], 'h2': [('b', 6)],
                                  'h3': [('c', 6)]})
        plan, moves = plan_of(hosts, servers)
        self.assertEqual([], moves)
        # 18 of 20 allowed, but a host holds one server of 6, not 1.67.
        self.assertEqual((3, 3, 3), (plan.hosts_in_use_before,
                                     plan.hosts_in_use_after,
                                     plan.lower_bound))

    def test_room_is_made_when_nothing_else_fits(self):
        # c (4) fits on neither kept host until b2 (2) moves from h2
        # to h1: that move comes first.
        hosts, servers = cluster({'h1': [('a1', 5), ('a2', 3)],
                                  'h2': [('b1', 5), ('b2', 2)],
                                  'h3': [('c', 4)]})
        plan, moves = plan_of(hosts, servers)
        self.assertEqual([('b2', 'h2', 'h1'), ('c', 'h3', 'h2')], moves)
        self.assertIn('makes room on h2 for c', plan.moves[0].why)
        self.assertEqual([], replay(plan, hosts, servers))

    def test_lower_bound_counts_whole_flavors(self):
        # 5 servers of 3: a host allowed 7.2 holds 2 of them, not 2.4.
        hosts, servers = cluster({'h%d' % i: [('s%d' % i, 3)]
                                  for i in range(5)}, cap=0.72)
        plan, _moves = plan_of(hosts, servers)
        self.assertEqual(3, plan.lower_bound)
        self.assertEqual(3, plan.hosts_in_use_after)

    def test_max_moves_keeps_whole_hosts(self):
        hosts, servers = cluster({'h1': [('a', 2)],
                                  'h2': [('b1', 1), ('b2', 1)],
                                  'h3': [('c', 2)]})
        plan, moves = plan_of(hosts, servers, max_moves=1)
        self.assertEqual(1, len(moves))
        self.assertEqual(1, len(plan.hosts_emptied))
        self.assertEqual(2, plan.hosts_in_use_after)
        self.assertEqual(2, plan.groups[0]['hosts_in_use_after'])
        self.assertEqual([], replay(plan, hosts, servers))

    def test_measured_cpu_limit_is_honoured(self):
        hosts = [scope.MeasuredHost(
            name, capacity={RAM: 10, CPU: 16}, used={RAM: 2, CPU: 4},
            caps={RAM: 1.0, CPU: 1.0}, cores=4, cpu_percent=percent)
            for name, percent in (('h1', 60.0), ('h2', 50.0))]
        cands = {'h1': None, 'h2': None}
        servers = [scope.PlacedServer(sid, {RAM: 2, CPU: 4}, cands, host=h)
                   for sid, h in (('a', 'h1'), ('b', 'h2'))]
        free, _ = plan_of(hosts, servers)
        self.assertEqual(1, len(free.moves))
        capped, _ = plan_of(hosts, servers, cpu_limit=0.8)
        self.assertEqual([], capped.moves)

    def test_lower_bound_counts_the_measured_cpu(self):
        # Four hosts of 10 cores, 3 busy each: 12 busy cores need two
        # hosts at 80 % (8 cores each), though one host's RAM and VCPU
        # would hold every server.
        hosts = [scope.MeasuredHost(
            name, capacity={RAM: 100, CPU: 100}, used={RAM: 2, CPU: 2},
            caps={RAM: 1.0, CPU: 1.0}, cores=10, cpu_percent=30.0)
            for name in ('h1', 'h2', 'h3', 'h4')]
        cands = dict.fromkeys(('h1', 'h2', 'h3', 'h4'))
        servers = [scope.PlacedServer('s-' + name, {RAM: 2, CPU: 2}, cands,
                                      host=name) for name in cands]
        free, _ = plan_of(hosts, servers)
        self.assertEqual((1, 1), (free.lower_bound, free.hosts_in_use_after))
        capped, _ = plan_of(hosts, servers, cpu_limit=0.8)
        self.assertEqual((2, 2), (capped.lower_bound,
                                  capped.hosts_in_use_after))
        self.assertEqual(2, len(capped.moves))
        # At 5 busy cores each no server can join another (10 > 8): the
        # bound, 20 / 8 rounded up, is 3; the plan keeps all four.
        for host in hosts:
            object.__setattr__(host, 'cpu_percent', 50.0)
        capped, _ = plan_of(hosts, servers, cpu_limit=0.8)
        self.assertEqual((3, 4, []), (capped.lower_bound,
                                      capped.hosts_in_use_after,
                                      capped.moves))

    def test_an_empty_scope_plans_nothing(self):
        hosts = [drain.Host('h1', {CPU: 4}, {CPU: 0}, {CPU: 1.0})]
        for scope_hosts in ([], hosts):
            plan = consolidation.plan_consolidation(scope_hosts, [])
            self.assertEqual({'moves': [], 'hosts_emptied': [],
                              'hosts_in_use_before': 0,
                              'hosts_in_use_after': 0, 'lower_bound': 0,
                              'unplanned': [], 'groups': []},
                             plan.as_dict())

    def test_the_plan_reads_as_the_api_shows_it(self):
        hosts, servers = cluster({'h1': [('a', 6)], 'h2': [('b', 2)]})
        plan = consolidation.plan_consolidation(hosts, servers).as_dict()
        self.assertEqual([{'server_id': 'b', 'source': 'h2',
                           'destination': 'h1',
                           'why': 'empties h2 (1 of its 1 servers)'}],
                         plan['moves'])
        self.assertEqual([{'hosts': 2, 'lower_bound': 1,
                           'hosts_in_use_after': 1}], plan['groups'])

    def test_deterministic_whatever_the_input_order(self):
        rng = random.Random(7)
        layout = {'h%d' % i: [('s%d-%d' % (i, j), rng.choice((1, 2, 3)))
                              for j in range(rng.randint(1, 3))]
                  for i in range(8)}
        hosts, servers = cluster(layout, ram=12)
        plans = set()
        for seed in range(4):
            h, s = list(hosts), list(servers)
            random.Random(seed).shuffle(h)
            random.Random(seed).shuffle(s)
            plans.add(tuple(plan_of(h, s)[1]))
        self.assertEqual(1, len(plans))


def random_case(rng):
    n_hosts = rng.randint(6, 10)
    zones = {'h%d' % i: 'z%d' % (i % 2) for i in range(n_hosts)}
    layout = {name: [] for name in zones}
    kw = {}
    taken = set()
    for i in range(rng.randint(10, 30)):
        name = 'h%d' % rng.randrange(n_hosts)
        amount = rng.choice((1, 1, 2, 3, 4))
        if sum(s[1] for s in layout[name]) + amount > 9:
            continue
        sid = 's%02d' % i
        layout[name].append((sid, amount, rng.choice((1, 2, 4))))
        group = 'g%d' % rng.randrange(3)
        if rng.random() < 0.2 and (group, name) not in taken:
            taken.add((group, name))
            kw[sid] = {'anti_affinity': group}
    unpinned = {s[0] for placed in layout.values() for s in placed
                if rng.random() < 0.5}
    return cluster(layout, ram=10, cpu=12, cap=0.9,
                   zones=zones if rng.random() < 0.7 else None,
                   unpinned=unpinned, **kw)


class PropertyTest(base.TestCase):
    """Random scopes: every plan replays, and never beats the bound."""

    def test_random_scopes_replay_without_refusal(self):
        rng = random.Random(20261202)
        for _ in range(150):
            hosts, servers = random_case(rng)
            plan = consolidation.plan_consolidation(hosts, servers)
            self.assertEqual([], replay(plan, hosts, servers))
            self.assertGreaterEqual(plan.hosts_in_use_after,
                                    plan.lower_bound)
            least = sum(1 for s in servers if s.host in plan.hosts_emptied)
            self.assertLessEqual(len(plan.moves), least + max(
                1, 0.05 * least))


class ExhaustiveComparisonTest(base.TestCase):
    """The planner against every assignment, on small random cases."""

    def best(self, hosts, servers):
        """The fewest hosts any assignment within the caps uses."""
        best = None
        names = [h.name for h in hosts]
        cap = {h.name: h.caps[RAM] * h.capacity[RAM] for h in hosts}
        for choice in itertools.product(names, repeat=len(servers)):
            used = dict.fromkeys(names, 0)
            groups = set()
            ok = True
            for name, s in zip(choice, servers, strict=True):
                if name != s.host and name not in s.candidates:
                    ok = False
                    break
                if s.anti_affinity:
                    if (s.anti_affinity, name) in groups:
                        ok = False
                        break
                    groups.add((s.anti_affinity, name))
                used[name] += s.demand[RAM]
            if ok and all(used[n] <= cap[n] + 1e-9 for n in names):
                count = len(set(choice))
                best = count if best is None else min(best, count)
        return best

    def test_close_to_the_best_and_never_below_the_bound(self):
        rng = random.Random(20261201)
        cases = same = 0
        for _ in range(150):
            layout = {'h%d' % i: [] for i in range(rng.randint(3, 4))}
            for i in range(rng.randint(3, 6)):
                layout[rng.choice(sorted(layout))].append(
                    ('s%d' % i, rng.choice((1, 2, 3, 4))))
            for name in layout:
                while sum(s[1] for s in layout[name]) > 9:
                    layout[name].pop()
            kw = {}
            if rng.random() < 0.3:
                kw = {'s0': {'anti_affinity': 'g'},
                      's1': {'anti_affinity': 'g'}}
                if any({'s0', 's1'} <= {s[0] for s in p}
                       for p in layout.values()):
                    kw = {}
            hosts, servers = cluster(layout, ram=10, cap=0.9, **kw)
            if not servers:
                continue
            plan = consolidation.plan_consolidation(hosts, servers)
            best = self.best(hosts, servers)
            self.assertEqual([], replay(plan, hosts, servers))
            self.assertLessEqual(plan.lower_bound, best)
            self.assertGreaterEqual(plan.hosts_in_use_after, best)
            cases += 1
            same += plan.hosts_in_use_after == best
        self.assertGreater(cases, 100)
        # Measured: as few hosts as the best assignment in 150 of 150.
        self.assertGreaterEqual(same / cases, 0.95, '%d of %d' % (
            same, cases))
