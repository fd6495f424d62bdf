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

"""Benchmark: the API's consolidation and balance plans on nova's cloud.

On nova's in-process cloud of ``tools/bench_explain.py`` (sqlite cell and
API databases, in-process placement; N identical compute hosts of 48
cores at cpu_allocation_ratio 4.0, 384 GiB and 4 TB, in 4 zones and 8
migration domains mirrored into placement) with M real servers written
straight into the databases: each has its instance (host, node, flavor,
vm_state active), its instance mapping, its request spec (nova's own
primitive of a RequestSpec built from the server's flavor, image, pinned
zone, project and server group) and its allocation on its host's
provider. Seeded: flavors from 1 vCPU / 2 GiB to 16 vCPU / 32 GiB, each
server on the host with the most free RAM its zone (when pinned, about
half of them), its anti-affinity group and the 0.9 caps allow, as nova's
RAM weigher spreads them; about 6 % of the servers are in anti-affinity
groups of 3, in nova's server group tables as well.

It times, with nova's SQL statements and placement requests counted:

* ``consolidation_plan`` of the whole cloud and of one zone;
* ``balance_plan`` (allocation) with ``max_moves=100``;

then checks every move of the whole cloud's consolidation: its
destination is among the server's candidates as the shared evaluation
judged them, and the planners' arithmetic replay (ScopeLoad, moves in
plan order) refuses none. Several sizes in one run show whether round
trips grow with hosts and servers. Usage::

    tox -e functional --notest
    .tox/functional/bin/python tools/bench_scope_plans.py \\
        --sizes 1000x20000,250x5000
"""

import datetime
import heapq
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

import bench_api  # noqa: E402  (imports nova's test packages first)
import bench_explain  # noqa: E402
from tests.functional import base  # noqa: E402

from nova import context as nova_context  # noqa: E402
from nova.db.api import api as api_db  # noqa: E402
from nova.db.api import models as api_models  # noqa: E402
from nova.db.main import api as main_db  # noqa: E402
from nova.db.main import models as main_models  # noqa: E402
from nova import objects  # noqa: E402
from oslo_serialization import jsonutils  # noqa: E402

OPTIONS = {'sizes': '1000x20000,250x5000', 'repeats': 3, 'seed': 1,
           'max_moves': 100, 'hosts': None, 'instances': None}
ZONES = bench_explain.ZONES
CORES, RATIO, RAM_MB, DISK_GB, RESERVED_MB = 48, 4.0, 384 * 1024, 4096, 512
CAP = 0.9
# (vcpus, GiB, disk GB), weight: as tools/bench_plans.py's easy cluster.
FLAVORS = [((1, 2, 20), 25), ((2, 4, 40), 30), ((4, 8, 80), 25),
           ((8, 16, 160), 15), ((16, 32, 320), 5)]
PROJECTS = 4
IMAGES = ['a2b3c4d5-0000-4000-8000-00000000000%d' % i for i in (1, 2)]
# The rows of every size measured, for one table at the end.
ROWS = []


class ScopePlansBenchmark(bench_explain.ExplainBenchmark):
    """Not a test: a scenario run once per size by main()."""

    def test_benchmark(self):
        hosts, count = OPTIONS['hosts'], OPTIONS['instances']
        self.flags(service_down_time=3600)
        started = time.perf_counter()
        names, rp_uuids = self._hosts(hosts)
        self._group(names, rp_uuids)
        print('Hosts, zones and domains in %.0f s'
              % (time.perf_counter() - started))
        placed = self._servers(names, rp_uuids, count)
        print('Populated %d hosts and %d servers (%d in anti-affinity '
              'groups, %d pinned to their zone) in %.0f s'
              % (hosts, len(placed), sum(1 for p in placed if p['group']),
                 sum(1 for p in placed if p['zone']),
                 time.perf_counter() - started))
        self.quiet_services()
        self.logging_as_nova_runs()
        from nova_livemig_ext import scope_plans
        ctxt = nova_context.get_admin_context()
        readers = self._capture_readers(scope_plans)
        runs = [
            ('consolidation, whole cloud',
             lambda: scope_plans.consolidation_plan(ctxt)),
            ('consolidation, zone zone0',
             lambda: scope_plans.consolidation_plan(ctxt, zone='zone0')),
            ('balance (allocation), max_moves=%d' % OPTIONS['max_moves'],
             lambda: scope_plans.balance_plan(
                 ctxt, max_moves=OPTIONS['max_moves'])),
        ]
        if OPTIONS.get('profile'):
            import cProfile
            import pstats
            runs[0][1]()  # warm
            _time_collections(runs[0][1])
            profile = cProfile.Profile()
            profile.runcall(runs[0][1])
            pstats.Stats(profile).sort_stats('cumulative').print_stats(45)
            pstats.Stats(profile).sort_stats('tottime').print_stats(25)
        answers = {}
        for label, run in runs[:OPTIONS['plans']]:
            if OPTIONS['repeats'] > 1:
                answers[label] = run()  # warm
            samples = []
            for _ in range(OPTIONS['repeats']):
                with base.RoundTrips() as trips:
                    start = time.perf_counter()
                    answers[label] = run()
                    samples.append(time.perf_counter() - start)
            ROWS.append(self._row(hosts, len(placed), label,
                                  statistics.median(samples), trips,
                                  answers[label]))
            print(ROWS[-1])
            if len(answers) == 1:
                # The reads and judgements the whole cloud's plan was made
                # of, for its replay.
                reader = readers[-1]
        ROWS[-len(answers)]['refusals'] = self._replay(
            reader, answers[runs[0][0]])

    def _capture_readers(self, scope_plans):
        readers = []

        class Capturing(scope_plans._Reader):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                readers.append(self)
        self.useFixture(base.fixtures.MonkeyPatch(
            'nova_livemig_ext.scope_plans._Reader', Capturing))
        return readers

    @staticmethod
    def _row(hosts, servers, label, seconds, trips, answer):
        row = {'size': '%d / %d' % (hosts, servers), 'what': label,
               'seconds': seconds, 'sql': trips.sql,
               'placement': trips.placement,
               'classes': answer['evaluated_with']['request_classes'],
               'moves': len(answer['moves'])}
        if 'lower_bound' in answer:
            row['result'] = ('%d emptied of %d allowed (in use %d -> %d, '
                             'lower bound %d)' % (
                                 len(answer['hosts_emptied']),
                                 answer['hosts_in_use_before'] -
                                 answer['lower_bound'],
                                 answer['hosts_in_use_before'],
                                 answer['hosts_in_use_after'],
                                 answer['lower_bound']))
        else:
            row['result'] = 'spread %.4f -> %.4f' % (
                answer['spread_before'], answer['spread_after'])
        return row

    def _replay(self, reader, answer):
        """Refusals of the plan's moves, in order (target: none).

        Each move's destination must be among the server's candidates as
        the shared evaluation judged them (placement, nova's filters,
        the constraints, the conductor), and the planners' arithmetic
        (ScopeLoad: caps and anti-affinity, with the moves before it)
        must accept it.
        """
        from nova_livemig_ext.planning import scope
        by_id = {s.id: s for s in reader.servers}
        on = {h.name: [] for h in reader.hosts}
        for server in reader.servers:
            on[server.host].append(server)
        loads = {h.name: scope.ScopeLoad(h, on[h.name])
                 for h in reader.hosts}
        refusals = {}
        for move in answer['moves']:
            server = by_id[move['server_id']]
            source, destination = move['source'], move['destination']
            why = None
            if server.host != source:
                why = 'not on its source'
            elif destination not in server.candidates:
                why = 'destination not among the judged candidates'
            demand = server.candidates.get(destination) or server.demand
            why = why or loads[destination].refusal(server, demand)
            if why:
                key = why.split(':')[0]
                refusals[key] = refusals.get(key, 0) + 1
            loads[source].leave(server, server.held)
            loads[destination].land(server, demand)
        print('Replay of %d moves: %d refused %s'
              % (len(answer['moves']), sum(refusals.values()), refusals))
        return sum(refusals.values())

    # -- the cloud ---------------------------------------------------------

    def _hosts(self, hosts):
        """Compute nodes, services, host mappings and providers."""
        ctxt = nova_context.get_admin_context()
        cell = self.cell_mappings['cell1']
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        names = ['compute%05d' % i for i in range(hosts)]
        rp_uuids = [str(_uuid(OPTIONS['seed'], 'rp', i))
                    for i in range(hosts)]
        with nova_context.target_cell(ctxt, cell) as cctxt:
            engine = main_db.get_engine(context=cctxt)
            with engine.begin() as conn:
                rows = []
                for name, rp in zip(names, rp_uuids, strict=True):
                    row = bench_api._compute_node(name, rp, now)
                    row.update(vcpus=CORES, memory_mb=RAM_MB,
                               local_gb=DISK_GB, vcpus_used=0,
                               memory_mb_used=RESERVED_MB, local_gb_used=0,
                               free_ram_mb=RAM_MB - RESERVED_MB,
                               free_disk_gb=DISK_GB, running_vms=0,
                               disk_available_least=DISK_GB)
                    rows.append(row)
                conn.execute(main_models.ComputeNode.__table__.insert(),
                             rows)
                conn.execute(main_models.Service.__table__.insert(), [
                    bench_api._service(name, now) for name in names])
        with api_db.context_manager.writer.using(ctxt) as session:
            session.execute(api_models.HostMapping.__table__.insert(), [
                {'host': name, 'cell_id': cell.id, 'created_at': now}
                for name in names])
        for name, rp in zip(names, rp_uuids, strict=True):
            self.placement.post('/resource_providers',
                                {'name': name, 'uuid': rp}, version='1.20')
            self.placement.put('/resource_providers/%s/inventories' % rp, {
                'resource_provider_generation': 0,
                'inventories': {
                    'VCPU': {'total': CORES, 'allocation_ratio': RATIO},
                    'MEMORY_MB': {'total': RAM_MB, 'reserved': RESERVED_MB},
                    'DISK_GB': {'total': DISK_GB}}})
        return names, rp_uuids

    def _flavors(self):
        ctxt = nova_context.get_admin_context()
        result = []
        for (vcpus, gib, disk), weight in FLAVORS:
            flavor_id = self._flavor('f%dc%dg' % (vcpus, gib),
                                     memory_mb=gib * 1024, vcpu=vcpus,
                                     disk=disk)
            result.append((objects.Flavor.get_by_flavor_id(ctxt, flavor_id),
                           weight))
        return result

    def _servers(self, names, rp_uuids, count):
        """Servers placed as nova spreads them, written in bulk."""
        rng = random.Random(OPTIONS['seed'])
        started = time.perf_counter()
        flavors = self._flavors()
        placed = _spread(rng, names, flavors, count)
        ctxt = nova_context.get_admin_context()
        cell = self.cell_mappings['cell1']
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        groups = {}
        for server in placed:
            if server['group']:
                groups.setdefault(server['group'], []).append(server)
        # Each server's request spec is nova's primitive of its RequestSpec;
        # servers of one flavor, image, zone and project share all but
        # their uuid.
        templates = {}
        specs = []
        for server in placed:
            if server['group']:
                text = _spec_text(ctxt, server)
            else:
                key = (server['flavor'].flavorid, server['image'],
                       server['zone'], server['project'])
                if key not in templates:
                    templates[key] = jsonutils.loads(_spec_text(ctxt,
                                                                server))
                data = templates[key]
                data['nova_object.data']['instance_uuid'] = server['uuid']
                text = jsonutils.dumps(data)
            specs.append({'instance_uuid': server['uuid'], 'spec': text,
                          'created_at': now})
        print('Placed and request specs built in %.0f s'
              % (time.perf_counter() - started))
        extra = {f.flavorid: jsonutils.dumps(
            {'cur': f.obj_to_primitive(), 'old': None, 'new': None})
            for f, _ in flavors}
        node_ids = {}
        with nova_context.target_cell(ctxt, cell) as cctxt:
            engine = main_db.get_engine(context=cctxt)
            with engine.begin() as conn:
                table = main_models.ComputeNode.__table__
                for node_id, host in conn.execute(
                        table.select().with_only_columns(table.c.id,
                                                         table.c.host)):
                    node_ids[host] = node_id
                rows = [_instance(i, server, node_ids[server['host']],
                                  now + datetime.timedelta(seconds=i))
                        for i, server in enumerate(placed)]
                conn.execute(main_models.Instance.__table__.insert(), rows)
                conn.execute(main_models.InstanceExtra.__table__.insert(), [
                    {'created_at': now, 'deleted': 0,
                     'instance_uuid': server['uuid'],
                     'flavor': extra[server['flavor'].flavorid]}
                    for server in placed])
                self._node_usage(conn, placed)
        with api_db.context_manager.writer.using(ctxt) as session:
            session.execute(api_models.InstanceMapping.__table__.insert(), [
                {'instance_uuid': server['uuid'], 'cell_id': cell.id,
                 'project_id': server['project'], 'user_id': 'user',
                 'queued_for_delete': False, 'created_at': now}
                for server in placed])
            session.execute(api_models.RequestSpec.__table__.insert(), specs)
        for group, members in sorted(groups.items()):
            objects.InstanceGroup(
                ctxt, uuid=group, name='aa-' + group[:8],
                project_id=members[0]['project'], user_id='user',
                policy='anti-affinity').create()
            objects.InstanceGroup.add_members(
                ctxt, group, [m['uuid'] for m in members])
        print('Databases written in %.0f s' % (time.perf_counter() - started))
        self._allocations(placed, dict(zip(names, rp_uuids, strict=True)))
        return placed

    def _allocations(self, placed, rp_of):
        """Each server's allocation, straight into placement's database.

        As placement writes them for a consumer (projects, users,
        consumers, allocations); ``POST /allocations`` takes 25 ms a
        server here. Checked against placement's usages of a few hosts.
        """
        from placement.db.sqlalchemy import models as placement_models
        from placement import db_api as placement_db
        import sqlalchemy
        engine = placement_db.placement_context_manager.writer.get_engine()
        classes = {'VCPU': 0, 'MEMORY_MB': 1, 'DISK_GB': 2}
        with engine.begin() as conn:
            projects = sorted({server['project'] for server in placed})
            conn.execute(placement_models.Project.__table__.insert(), [
                {'external_id': p} for p in projects])
            conn.execute(placement_models.User.__table__.insert(), [
                {'external_id': 'user'}])
            table = placement_models.Project.__table__
            project_ids = dict(conn.execute(sqlalchemy.select(
                table.c.external_id, table.c.id)).all())
            table = placement_models.User.__table__
            user_id = conn.execute(sqlalchemy.select(table.c.id).where(
                table.c.external_id == 'user')).scalar_one()
            table = placement_models.ResourceProvider.__table__
            provider_ids = dict(conn.execute(sqlalchemy.select(
                table.c.uuid, table.c.id)).all())
            conn.execute(placement_models.Consumer.__table__.insert(), [
                {'uuid': server['uuid'],
                 'project_id': project_ids[server['project']],
                 'user_id': user_id, 'generation': 1}
                for server in placed])
            rows = []
            for server in placed:
                flavor = server['flavor']
                for rc, used in (('VCPU', flavor.vcpus),
                                 ('MEMORY_MB', flavor.memory_mb),
                                 ('DISK_GB', flavor.root_gb)):
                    rows.append({'resource_provider_id': provider_ids[
                        rp_of[server['host']]], 'consumer_id': server['uuid'],
                        'resource_class_id': classes[rc], 'used': used})
            conn.execute(placement_models.Allocation.__table__.insert(), rows)
        for host in sorted({server['host'] for server in placed[:50]})[:3]:
            totals = {'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0}
            for server in placed:
                if server['host'] == host:
                    flavor = server['flavor']
                    totals['VCPU'] += flavor.vcpus
                    totals['MEMORY_MB'] += flavor.memory_mb
                    totals['DISK_GB'] += flavor.root_gb
            usages = self.placement.get(
                '/resource_providers/%s/usages' % rp_of[host]).body['usages']
            assert usages == totals, (host, usages, totals)
            allocations = self.placement.get('/allocations/%s' % next(
                s['uuid'] for s in placed if s['host'] == host),
                version='1.28').body
            assert allocations['project_id'].startswith('project'), (
                allocations)

    @staticmethod
    def _node_usage(conn, placed):
        """The compute nodes' own figures, as the resource tracker writes."""
        used = {}
        for server in placed:
            vcpus, ram, disk, vms = used.get(server['host'], (0, 0, 0, 0))
            flavor = server['flavor']
            used[server['host']] = (vcpus + flavor.vcpus,
                                    ram + flavor.memory_mb,
                                    disk + flavor.root_gb, vms + 1)
        table = main_models.ComputeNode.__table__
        for host, (vcpus, ram, disk, vms) in used.items():
            conn.execute(table.update().where(table.c.host == host).values(
                vcpus_used=vcpus, memory_mb_used=ram + RESERVED_MB,
                free_ram_mb=RAM_MB - RESERVED_MB - ram, local_gb_used=disk,
                free_disk_gb=DISK_GB - disk, disk_available_least=DISK_GB -
                disk, running_vms=vms))


def _time_collections(run):
    """Print the time Python's cyclic garbage collector takes in ``run``."""
    import gc
    spent = {'seconds': 0.0, 'collections': [0, 0, 0]}

    def timing(phase, info):
        if phase == 'start':
            spent['start'] = time.perf_counter()
        else:
            spent['seconds'] += time.perf_counter() - spent['start']
            spent['collections'][info['generation']] += 1
    gc.callbacks.append(timing)
    try:
        start = time.perf_counter()
        run()
        total = time.perf_counter() - start
    finally:
        gc.callbacks.remove(timing)
    print('Plan in %.1f s, of which %.1f s in the garbage collector '
          '(collections by generation: %s)'
          % (total, spent['seconds'], spent['collections']))


def _uuid(seed, kind, i):
    import uuid
    return uuid.uuid5(uuid.NAMESPACE_OID, 'bench-%d-%s-%d' % (seed, kind, i))


def _spread(rng, names, flavors, count):
    """Servers placed as nova's RAM weigher spreads them, seeded.

    Each goes to the host with the most free RAM among its zone's (when
    pinned) or all (when not), that its anti-affinity group and the 0.9
    caps leave room on.
    """
    capacity = {'VCPU': CORES * RATIO, 'MEMORY_MB': RAM_MB - RESERVED_MB,
                'DISK_GB': DISK_GB}
    zone_of = {name: 'zone%d' % (i % ZONES) for i, name in enumerate(names)}
    used = {name: {rc: 0 for rc in capacity} for name in names}
    groups = {name: set() for name in names}
    heaps = {None: [(-capacity['MEMORY_MB'], name) for name in names]}
    for z in range(ZONES):
        heaps['zone%d' % z] = [(-capacity['MEMORY_MB'], name)
                               for name in names
                               if zone_of[name] == 'zone%d' % z]
    for heap in heaps.values():
        heapq.heapify(heap)
    placed = []
    group_left = 0
    group = group_zone = None
    for i in range(count):
        flavor, = rng.choices([f for f, _ in flavors],
                              [w for _, w in flavors])
        demand = {'VCPU': flavor.vcpus, 'MEMORY_MB': flavor.memory_mb,
                  'DISK_GB': flavor.root_gb}
        if group_left == 0 and rng.random() < 0.02:
            group_left = 3
            group = str(_uuid(OPTIONS['seed'], 'group', i))
            group_zone = ('zone%d' % rng.randrange(ZONES)
                          if rng.random() < 0.5 else None)
        if group_left:
            group_left -= 1
            zone, member_of = group_zone, group
        else:
            zone = ('zone%d' % rng.randrange(ZONES) if rng.random() < 0.5
                    else None)
            member_of = None
        host = _best(heaps[zone], used, groups, capacity, demand, member_of)
        if host is None:
            continue
        for rc, amount in demand.items():
            used[host][rc] += amount
        if member_of:
            groups[host].add(member_of)
        placed.append({
            'uuid': str(_uuid(OPTIONS['seed'], 'server', i)), 'host': host,
            'flavor': flavor, 'zone': zone, 'host_zone': zone_of[host],
            'group': member_of, 'project': 'project%d' % (i % PROJECTS),
            'image': IMAGES[i % len(IMAGES)], 'name': 'vm%05d' % i})
    return placed


def _best(heap, used, groups, capacity, demand, group):
    """The host with the most free RAM that fits (lazy heap, corrected)."""
    aside = []
    found = None
    while heap:
        free, name = heap[0]
        real = used[name]['MEMORY_MB'] - capacity['MEMORY_MB']
        if free != real:
            heapq.heapreplace(heap, (real, name))
            continue
        if group not in groups[name] and all(
                used[name][rc] + amount <= CAP * capacity[rc]
                for rc, amount in demand.items()):
            found = name
            break
        aside.append(heapq.heappop(heap))
    for item in aside:
        heapq.heappush(heap, item)
    return found


def _spec_text(ctxt, server):
    """nova's stored JSON of the server's RequestSpec, as at boot."""
    flavor = server['flavor']
    image = objects.ImageMeta.from_dict({
        'id': server['image'], 'name': 'image', 'status': 'active',
        'disk_format': 'qcow2', 'container_format': 'bare', 'min_ram': 0,
        'min_disk': 0, 'size': 1 << 30, 'properties': {}})
    hints = {}
    group = None
    if server['group']:
        hints = {'group': server['group']}
        group = objects.InstanceGroup(
            uuid=server['group'], name='aa-' + server['group'][:8],
            policy='anti-affinity', project_id=server['project'],
            user_id='user', members=[], hosts=[])
    spec = objects.RequestSpec.from_components(
        ctxt, server['uuid'], image, flavor, None, None,
        {'scheduler_hints': hints}, group, server['zone'],
        project_id=server['project'], user_id='user')
    spec.is_bfv = False
    return spec._get_update_primitives()['spec']


def _instance(i, server, node_id, created):
    flavor = server['flavor']
    return {
        'created_at': created, 'deleted': 0, 'uuid': server['uuid'],
        'host': server['host'], 'node': server['host'],
        'launched_on': server['host'], 'compute_id': node_id,
        'project_id': server['project'], 'user_id': 'user',
        'vcpus': flavor.vcpus, 'memory_mb': flavor.memory_mb,
        'root_gb': flavor.root_gb, 'ephemeral_gb': 0,
        'vm_state': 'active', 'power_state': 1,
        'display_name': server['name'], 'hostname': server['name'],
        'instance_type_id': flavor.id, 'image_ref': server['image'],
        'availability_zone': server['host_zone'], 'locked': False,
        'cleaned': 0}


def _table():
    print()
    print('| hosts / servers | plan | seconds | nova SQL statements | '
          'placement requests | request classes | moves | result |')
    print('|---|---|---:|---:|---:|---:|---:|---|')
    for row in ROWS:
        print('| %(size)s | %(what)s | %(seconds).2f | %(sql)d | '
              '%(placement)d | %(classes)d | %(moves)d | %(result)s |' % row)
    print()
    for row in ROWS:
        if 'refusals' in row:
            print('%s: %d of %d planned moves refused on replay (judged '
                  'candidates, then ScopeLoad in plan order)'
                  % (row['size'], row['refusals'], row['moves']))
    print('nova %s; load average %s' % (
        bench_api._nova_version(),
        ', '.join('%.2f' % x for x in os.getloadavg())))


def main():
    parser = bench_api.parser(__doc__.split('\n')[0])
    parser.set_defaults(repeats=3, hosts=None, instances=None)
    parser.add_argument('--sizes', default=OPTIONS['sizes'],
                        help='hosts x servers, comma-separated '
                             '(--hosts and --instances give one size)')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--max-moves', type=int, default=100)
    parser.add_argument('--plans', type=int, default=3,
                        help='measure only the first N plans (the whole '
                             'cloud\'s consolidation, one zone\'s, the '
                             'balance)')
    parser.add_argument('--profile', action='store_true',
                        help='print a profile of the whole cloud\'s '
                             'consolidation plan')
    args = parser.parse_args()
    if args.hosts:
        sizes = [(args.hosts, args.instances or 20 * args.hosts)]
    else:
        sizes = [tuple(int(x) for x in size.split('x'))
                 for size in args.sizes.split(',')]
    failed = 0
    for hosts, servers in sizes:
        args.hosts, args.instances = hosts, servers
        failed |= bench_api.run(ScopePlansBenchmark, OPTIONS, args)
    _table()
    return failed


if __name__ == '__main__':
    sys.exit(main())
