#!/bin/bash
#
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

# plugin.sh - devstack plugin of nova-livemig-ext: dispatches devstack's
# phases to the functions of devstack/lib/livemig_ext.

source $LIVEMIG_EXT_DIR/devstack/lib/livemig_ext

if is_service_enabled nova; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing nova-livemig-ext"
        install_livemig_ext

    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        # Before nova's services start; local.conf's post-config
        # meta-sections are merged after this and win.
        echo_summary "Configuring nova-livemig-ext"
        configure_livemig_ext
    fi

    if [[ "$1" == "unstack" ]]; then
        # The plugin runs inside nova's services: nothing of its own to
        # stop.
        :
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_livemig_ext
    fi
fi
