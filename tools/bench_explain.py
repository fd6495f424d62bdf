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

"""Benchmark: explaining a live migration, and the filter's cost in nova.

On nova's in-process cloud (sqlite cell and API databases, in-process
placement) holding N compute hosts in 4 availability zones and 8
migration domains (aggregates mirrored into placement as nova mirrors
them) and M instances written straight into the databases, with one real
server (instance, request spec, mappings, allocation) on the first host:

* the destinations evaluation of that server (every host judged, as the
  API answers it), against nova's own scheduling of its live migration:
  nova's request filters, its allocation candidates query, its host
  states, filters and weighers (``select_destinations`` without the
  claim);
* nova's scheduling of the same live migration with
  LiveMigrationDestinationFilter and VacantResourceWeigher enabled (an
  ``accepted`` live-migration record makes the plugin judge it), against
  nova's own chain: the plugin's whole added cost in nova-scheduler.

Each counts nova's SQL statements and placement requests. Usage::

    tox -e functional --notest
    .tox/functional/bin/python tools/bench_explain.py --hosts 1000
"""

import datetime
import logging
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

import bench_api  # noqa: E402  (imports nova's test packages first)
from tests.functional import base  # noqa: E402

from nova import context as nova_context  # noqa: E402
from nova.db.api import api as api_db  # noqa: E402
from nova.db.api import models as api_models  # noqa: E402
from nova import objects  # noqa: E402
from nova.scheduler import request_filter  # noqa: E402
from nova.scheduler import utils as scheduler_utils  # noqa: E402
from oslo_utils import uuidutils  # noqa: E402

OPTIONS = {'hosts': 1000, 'instances': 20000, 'repeats': 5}
ZONES = 4
DOMAINS = 8


class ExplainBenchmark(bench_api.APIBenchmark):
    """Not a test: a scenario run once by main()."""

    def test_benchmark(self):
        hosts = OPTIONS['hosts']
        # The services' heartbeats are written once, when populating.
        self.flags(service_down_time=3600)
        started = time.perf_counter()
        names, rp_uuids = self._populate(hosts, OPTIONS['instances'])
        self._group(names, rp_uuids)
        server = self._server(names[0], rp_uuids[0])
        print('Populated %d hosts and %d instances in %.0f s'
              % (hosts, OPTIONS['instances'], time.perf_counter() - started))
        self.quiet_services()
        self.logging_as_nova_runs()
        from nova_livemig_ext import evaluation
        ctxt = nova_context.get_admin_context()

        def explain():
            return evaluation.explain(ctxt, server)

        answer = explain()
        if OPTIONS.get('profile'):
            import cProfile
            import pstats
            profile = cProfile.Profile()
            profile.runcall(explain)
            pstats.Stats(profile).sort_stats('cumulative').print_stats(40)
            scheduler = self._scheduler(with_plugin=True)
            self._schedule(scheduler, ctxt, server, names[0])
            profile = cProfile.Profile()
            profile.runcall(self._schedule, scheduler, ctxt, server,
                            names[0])
            print('Profile of the scheduling with the plugin enabled:')
            stats = pstats.Stats(profile).sort_stats('cumulative')
            stats.print_stats(15)
            print('The plugin\'s part of it:')
            stats.print_stats('nova_livemig_ext', 25)
        eligible = [d for d in answer.destinations if d.eligible]
        print('Explanation: %d hosts judged, %d eligible, first %s'
              % (len(answer.destinations), len(eligible),
                 eligible[0].host if eligible else None))
        refused = {}
        for destination in answer.destinations:
            if destination.reasons:
                first = destination.reasons[0].constraint
                refused[first] = refused.get(first, 0) + 1
        print('First reasons of the others: %s' % ', '.join(
            '%s %d' % item for item in sorted(refused.items())))
        if not eligible:
            print(answer.destinations[0].as_dict())
        nova_only = self._scheduler(with_plugin=False)
        with_plugin = self._scheduler(with_plugin=True)
        own = self._time_plugin()
        rows = self._interleave([
            ('destinations evaluation (every host judged)', explain),
            ("nova's scheduling of the live migration, nova's chain",
             lambda: self._schedule(nova_only, ctxt, server, names[0])),
            ('the same with the plugin enabled',
             lambda: self._schedule(with_plugin, ctxt, server, names[0])),
        ], OPTIONS['repeats'])
        print()
        print('%d hosts in %d zones and %d domains, %d instances (nova %s)'
              % (hosts, ZONES, DOMAINS, OPTIONS['instances'],
                 bench_api._nova_version()))
        print()
        print('| what | median ms | nova SQL statements | placement '
              'requests |')
        print('|---|---:|---:|---:|')
        for label, ms, sql, http in rows:
            print('| %s | %.0f | %d | %d |' % (label, ms, sql, http))
        print()
        print('ratio evaluation : nova scheduling = %.2f'
              % (rows[0][1] / rows[1][1]))
        print('plugin added cost in nova-scheduler = %.0f ms = %.1f %% of '
              "nova's own" % (rows[2][1] - rows[1][1],
                              100.0 * (rows[2][1] - rows[1][1]) / rows[1][1]))
        # The difference of two medians is at the mercy of the machine's
        # noise; the time spent inside the plugin's filter (its usage read
        # included) and weigher, per scheduling, is not.
        inside = statistics.median(own['samples'])
        print("time inside the plugin's filter and weigher = %.0f ms "
              "(median of %d) = %.1f %% of nova's own scheduling"
              % (inside, len(own['samples']), 100.0 * inside / rows[1][1]))

    @staticmethod
    def logging_as_nova_runs():
        """Leave debug records unformatted, as nova does by default.

        nova runs with ``debug = False``; nova's test fixture formats
        every debug record (to catch bad format strings), which costs
        about a second at 1,000 hosts (HostState.update logs every compute
        node) on every side measured.
        """
        logging.getLogger().setLevel(logging.INFO)

    def _time_plugin(self):
        """Time spent in the filter's filter_all and the weigher, per call.

        The filter's filter_all covers everything the plugin does in a
        request but weighing: the migration record and source aggregates,
        the zone and domain rules, its usage read and the caps.
        """
        from nova_livemig_ext.scheduler import filters
        from nova_livemig_ext.scheduler import weighers
        own = {'samples': [], 'current': 0.0, 'filtered': False}
        for cls, name in ((filters.LiveMigrationDestinationFilter,
                           'filter_all'),
                          (weighers.VacantResourceWeigher,
                           'weigh_objects')):
            real = getattr(cls, name)

            def timed(obj, *args, _real=real, _name=name, **kwargs):
                start = time.perf_counter()
                try:
                    return _real(obj, *args, **kwargs)
                finally:
                    own['current'] += (time.perf_counter() - start) * 1000
                    if _name == 'filter_all':
                        own['filtered'] = True
                    else:
                        # The evaluation weighs too, without the filter.
                        if own['filtered']:
                            own['samples'].append(own['current'])
                        own['current'] = 0.0
                        own['filtered'] = False
            self.useFixture(base.fixtures.MonkeyPatch(
                '%s.%s.%s' % (cls.__module__, cls.__name__, name), timed))
        return own

    def _interleave(self, runs, repeats):
        samples = {label: [] for label, _ in runs}
        counts = {}
        for _, run in runs:
            run()  # warm
        for _ in range(repeats):
            for label, run in runs:
                with base.RoundTrips() as trips:
                    start = time.perf_counter()
                    run()
                    samples[label].append(
                        (time.perf_counter() - start) * 1000)
                counts[label] = (trips.sql, trips.placement)
        return [(label, statistics.median(samples[label])) + counts[label]
                for label, _ in runs]

    def _group(self, names, rp_uuids):
        """Zone and domain aggregates, in nova and mirrored in placement."""
        ctxt = nova_context.get_admin_context()
        aggregates = []
        for z in range(ZONES):
            aggregates.append(objects.Aggregate(
                ctxt, name='zone%d' % z,
                metadata={'availability_zone': 'zone%d' % z}))
        for d in range(DOMAINS):
            aggregates.append(objects.Aggregate(
                ctxt, name='domain%d' % d,
                metadata={base.DOMAIN_KEY: 'domain%d' % d}))
        for aggregate in aggregates:
            aggregate.create()
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        rows = []
        members = {}
        for i, name in enumerate(names):
            zone = aggregates[i % ZONES]
            domain = aggregates[ZONES + i % DOMAINS]
            members[rp_uuids[i]] = [zone.uuid, domain.uuid]
            rows += [{'host': name, 'aggregate_id': zone.id,
                      'created_at': now},
                     {'host': name, 'aggregate_id': domain.id,
                      'created_at': now}]
        with api_db.context_manager.writer.using(ctxt) as session:
            session.execute(api_models.AggregateHost.__table__.insert(),
                            rows)
        for rp_uuid, uuids in members.items():
            generation = self.placement.get(
                '/resource_providers/%s' % rp_uuid).body['generation']
            self.placement.put(
                '/resource_providers/%s/aggregates' % rp_uuid,
                {'aggregates': uuids,
                 'resource_provider_generation': generation},
                version='1.19')
            # The traits every nova-compute reports on its provider; nova's
            # request filters ask for OWNER_NOVA.
            self.placement.put(
                '/resource_providers/%s/traits' % rp_uuid,
                {'traits': ['COMPUTE_NODE', 'OWNER_NOVA'],
                 'resource_provider_generation': generation + 1},
                version='1.6')

    def _server(self, host, rp_uuid):
        """A server on ``host`` as nova writes one, with its request spec."""
        ctxt = nova_context.get_admin_context()
        cell = self.cell_mappings['cell1']
        flavor = objects.Flavor.get_by_flavor_id(ctxt, self.medium)
        uuid = uuidutils.generate_uuid()
        with nova_context.target_cell(ctxt, cell) as cctxt:
            node = objects.ComputeNode.get_by_host_and_nodename(
                cctxt, host, host)
            instance = objects.Instance(
                cctxt, uuid=uuid, host=host, node=host, compute_id=node.id,
                launched_on=host,
                project_id='project0', user_id='user', vm_state='active',
                power_state=1, task_state=None, flavor=flavor,
                vcpus=flavor.vcpus, memory_mb=flavor.memory_mb,
                root_gb=flavor.root_gb, ephemeral_gb=0,
                instance_type_id=flavor.id,
                image_ref=uuidutils.generate_uuid(),
                availability_zone=None, system_metadata={})
            instance.create()
            objects.Migration(
                cctxt, instance_uuid=uuid, source_compute=host,
                source_node=host, migration_type='live-migration',
                status='accepted').create()
        objects.InstanceMapping(ctxt, instance_uuid=uuid, cell_mapping=cell,
                                project_id='project0',
                                user_id='user').create()
        spec = objects.RequestSpec.from_components(
            ctxt, uuid, objects.ImageMeta(properties=objects.ImageMetaProps()),
            flavor, None, None, {}, None, None, project_id='project0',
            user_id='user')
        spec.is_bfv = False
        spec.create()
        self.placement.put('/allocations/%s' % uuid, {
            'allocations': {rp_uuid: {'resources': {
                'VCPU': flavor.vcpus, 'MEMORY_MB': flavor.memory_mb,
                'DISK_GB': flavor.root_gb}}},
            'project_id': 'project0', 'user_id': 'user',
            'consumer_generation': None}, version='1.28')
        return uuid

    def _scheduler(self, with_plugin):
        from nova.scheduler import manager
        filters = ['nova.scheduler.filters.all_filters']
        enabled = list(base.CONF.filter_scheduler.enabled_filters)
        enabled = [f for f in enabled if f != base.FILTER_NAME_SHORT]
        weighers = ['nova.scheduler.weights.all_weighers']
        if with_plugin:
            filters.append(base.FILTER)
            enabled.append(base.FILTER_NAME_SHORT)
            weighers.append(base.WEIGHER)
        self.flags(available_filters=filters, enabled_filters=enabled,
                   weight_classes=weighers, group='filter_scheduler')
        scheduler = manager.SchedulerManager()
        # nova reads every host's instances in the background at start;
        # in steady state nova-compute then sends them to the scheduler
        # (track_instance_changes), so that requests make no query per
        # host.
        host_manager = scheduler.host_manager
        deadline = time.monotonic() + 600
        while (len(host_manager._instance_info) < OPTIONS['hosts'] and
               time.monotonic() < deadline):
            time.sleep(0.5)
        time.sleep(1)
        for info in host_manager._instance_info.values():
            info['updated'] = True
        return scheduler

    def _schedule(self, scheduler, ctxt, server_id, source):
        """nova's select_destinations of a live migration, without claim."""
        from nova_livemig_ext.usage import servers
        found = servers.server(ctxt, server_id)
        spec = servers.prepare_spec(ctxt, found)
        request_filter.process_reqspec(ctxt, spec)
        resources = scheduler_utils.resources_from_request_spec(
            ctxt, spec, scheduler.host_manager)
        alloc_reqs, summaries, _ = (
            scheduler.placement_client.get_allocation_candidates(
                ctxt, resources))
        by_rp = {}
        for alloc_req in alloc_reqs:
            for rp in alloc_req['allocations']:
                by_rp.setdefault(rp, []).append(alloc_req)
        hosts = list(scheduler._get_all_host_states(ctxt, spec, summaries))
        for hs in hosts:
            hs.allocation_candidates = by_rp.get(hs.uuid, [])
        filtered = scheduler.host_manager.get_filtered_hosts(hosts, spec)
        return scheduler.host_manager.get_weighed_hosts(filtered, spec)


def main():
    parser = bench_api.parser(__doc__.split('\n')[0])
    parser.add_argument('--profile', action='store_true',
                        help='print a profile of one evaluation')
    return bench_api.run(ExplainBenchmark, OPTIONS, parser.parse_args())


if __name__ == '__main__':
    sys.exit(main())
