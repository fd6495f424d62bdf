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

"""The local cloud's fake hypervisor: nova's fake driver, sized like a host.

A stable node (one node named after the host, its UUID kept in
``state_path/compute_id``) so that a nova-compute can be stopped and started
again. Guests exist only in the process's memory: the fake hypervisor cannot
keep them across a restart of its nova-compute.
"""

from nova.virt import fake


class MinicloudDriver(fake.FakeDriverWithoutFakeNodes):
    """4 cores, 8 GiB of RAM and 100 GB of local disk per host."""

    vcpus = 4
    memory_mb = 8192
    local_gb = 100
