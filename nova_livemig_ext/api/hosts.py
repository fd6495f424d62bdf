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

"""Handlers of /os-livemig/hosts: policy, parameters, one read, a body."""

from urllib import parse as urlparse

import webob.exc

from nova_livemig_ext.api import params
from nova_livemig_ext.api import policies
from nova_livemig_ext import conf as livemig_conf
from nova_livemig_ext import evaluation
from nova_livemig_ext import plans
from nova_livemig_ext.usage import hosts as host_usage


def _links(req, collection, items, limit, marker_key):
    """A ``next`` link when a page is full, as nova's list APIs give."""
    if not limit or len(items) < limit:
        return []
    query = dict(req.GET)
    query['marker'] = items[-1][marker_key]
    href = '%s?%s' % (req.path_url, urlparse.urlencode(sorted(query.items())))
    return [{'rel': 'next', 'href': href}]


def _host_not_found(host):
    return webob.exc.HTTPNotFound(
        explanation='Compute host %s could not be found.' % host)


def _keep(query):
    """A predicate on host entries for the listing's filters, or None."""
    zone = query.get('availability_zone')
    aggregate = query.get('aggregate')
    domain = query.get('migration_domain')
    if not (zone or aggregate or domain):
        return None

    def keep(entry):
        return ((not zone or entry['availability_zone'] == zone) and
                (not aggregate or aggregate in entry['aggregates']) and
                (not domain or domain in entry['migration_domains']))
    return keep


FILTERS = (('availability_zone', 'availability zone'),
           ('aggregate', 'aggregate'),
           ('migration_domain', 'migration domain'))


def _check_filters(context, query):
    """A 400 naming a filter value that nothing in the cloud has.

    Asked only when a listing came back empty: a value that names an
    existing zone, aggregate or domain with no host in it gives an empty
    list, one that names nothing is a mistake worth saying.
    """
    known = host_usage.filter_values(context)
    for name, what in FILTERS:
        value = query.get(name)
        if value and value not in known[name]:
            raise webob.exc.HTTPBadRequest(
                explanation='Invalid query parameter %s=%s: no %s of that '
                            'name; known: %s.' % (
                                name, value, what,
                                ', '.join(sorted(known[name])) or 'none'))


def list_hosts(req, context):
    """GET /hosts: every compute host with its resources."""
    policies.authorize(context, policies.HOSTS_LIST)
    query = params.parse(req, availability_zone=params.TEXT,
                         aggregate=params.TEXT,
                         migration_domain=params.TEXT,
                         limit=params.LIMIT, marker=params.TEXT)
    try:
        listing = host_usage.list_hosts(
            context, keep=_keep(query), limit=query.get('limit'),
            marker=query.get('marker'))
    except host_usage.MarkerNotFound as exc:
        raise webob.exc.HTTPBadRequest(
            explanation='Invalid query parameter marker=%s: no such host in '
                        'the listing.' % query['marker']) from exc
    if not listing.hosts and not query.get('marker'):
        _check_filters(context, query)
    body = {'hosts': listing.hosts,
            'unreachable_cells': listing.unreachable_cells}
    links = _links(req, 'hosts', listing.hosts, query.get('limit'), 'host')
    if links:
        body['hosts_links'] = links
    return body


def show_host(req, context, host):
    """GET /hosts/{host}: one host, its projects and migrations."""
    policies.authorize(context, policies.HOSTS_SHOW)
    params.parse(req)
    try:
        return {'host': host_usage.show_host(context, host)}
    except host_usage.HostNotFound as exc:
        raise _host_not_found(host) from exc


def list_servers(req, context, host):
    """GET /hosts/{host}/servers: the servers on a host, of every project."""
    policies.authorize(context, policies.HOSTS_SERVERS)
    query = params.parse(req, project_id=params.TEXT, limit=params.LIMIT,
                         marker=params.TEXT)
    try:
        servers = host_usage.host_servers(
            context, host, project_id=query.get('project_id'),
            limit=query.get('limit'), marker=query.get('marker'))
    except host_usage.HostNotFound as exc:
        raise _host_not_found(host) from exc
    except host_usage.MarkerNotFound as exc:
        raise webob.exc.HTTPBadRequest(
            explanation='Invalid query parameter marker=%s: no server of '
                        'that id on host %s.' % (query['marker'], host)
        ) from exc
    body = {'servers': servers}
    links = _links(req, 'servers', servers, query.get('limit'), 'id')
    if links:
        body['servers_links'] = links
    return body


def drain_plan(req, context, host):
    """GET /hosts/{host}/drain-plan: a destination for each of its servers."""
    policies.authorize(context, policies.HOSTS_DRAIN_PLAN)
    query = params.parse(
        req, strategy=params.choice(livemig_conf.SPREAD, livemig_conf.PACK),
        move=params.choice(livemig_conf.LIVE_MIGRATION,
                           livemig_conf.EVACUATION))
    try:
        plan = plans.drain_plan(context, host,
                                strategy=query.get('strategy'),
                                kind=query.get('move'))
    except host_usage.HostNotFound as exc:
        raise _host_not_found(host) from exc
    except evaluation.CannotMove as exc:
        raise webob.exc.HTTPConflict(explanation=str(exc)) from exc
    return {'drain_plan': plan}
