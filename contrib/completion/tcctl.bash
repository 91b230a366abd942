# bash completion for tcctl, the client of tcd.
#   source <(tcctl completion bash)     or install as
#   /usr/share/bash-completion/completions/tcctl
# Completes commands, flags, job ids (from `tcctl -q jobs`), plugin names
# (from `tcctl -q plugins`) and schedule names (from `tcctl -q schedule list`);
# the daemon is asked only when an id or name is due.

_tcctl_socket_args() {
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --socket) printf '%s\n' --socket "${COMP_WORDS[i + 1]}"; return ;;
            --socket=*) printf '%s\n' "${COMP_WORDS[i]}"; return ;;
        esac
    done
}

_tcctl_ids() {
    local -a sock
    mapfile -t sock < <(_tcctl_socket_args)
    tcctl "${sock[@]}" -q jobs "$@" 2>/dev/null
}

_tcctl_plugins() {
    local -a sock
    mapfile -t sock < <(_tcctl_socket_args)
    tcctl "${sock[@]}" -q plugins 2>/dev/null
}

_tcctl_schedules() {
    local -a sock
    mapfile -t sock < <(_tcctl_socket_args)
    tcctl "${sock[@]}" -q schedule list 2>/dev/null
}

_tcctl() {
    local cur prev cmd i
    local commands="ping train pull push promote rollback prune jobs status logs cancel wait rm predict schedule plugins completion help version"
    local global="--json -q --quiet --socket --help --version"
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD - 1]}"

    # the command is the first word that is not a global flag (or its value)
    cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --socket) ((i++)) ;;
            -*) ;;
            *) cmd="${COMP_WORDS[i]}"; break ;;
        esac
    done

    if [[ -z "$cmd" ]]; then
        case "$prev" in
            --socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        esac
        if [[ "$cur" == -* ]]; then
            COMPREPLY=($(compgen -W "$global" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    case "$cmd" in
        train)
            case "$prev" in
                --set | --name | --timeout | --deadline | --schedule-key | --idempotency-key | --skip-exit-code) return ;;
                --concurrency) COMPREPLY=($(compgen -W "allow forbid replace" -- "$cur")); return ;;
            esac
            if [[ "$cur" == -* ]]; then
                COMPREPLY=($(compgen -W "--set --name --timeout --wait --detach --if-changed --schedule-key --concurrency --skip-exit-code --deadline --idempotency-key --no-idempotency-key --json -q --help" -- "$cur"))
            else
                COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur"))
            fi
            ;;
        pull)
            case "$prev" in
                --revision | --include | --exclude | --name | --timeout) return ;;
            esac
            if [[ "$cur" == -* ]]; then
                COMPREPLY=($(compgen -W "--revision --include --exclude --name --timeout --detach --json -q --help" -- "$cur"))
            elif [[ "$prev" == pull ]]; then
                COMPREPLY=($(compgen -W "model dataset" -- "$cur"))
            fi
            ;;
        push)
            case "$prev" in
                --repo | --branch | --message | --name | --timeout) return ;;
                --when) COMPREPLY=($(compgen -W "always improved" -- "$cur")); return ;;
            esac
            if [[ "$cur" == -* ]]; then
                COMPREPLY=($(compgen -W "--repo --dataset --private --branch --message --force --when --name --timeout --detach --json -q --help" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$(_tcctl_ids --state succeeded)" -- "$cur") $(compgen -d -- "$cur"))
            fi
            ;;
        promote)
            [[ "$prev" == --message ]] && return
            if [[ "$cur" == -* ]]; then
                COMPREPLY=($(compgen -W "--force --message --detach --json -q --help" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$(_tcctl_ids --state succeeded)" -- "$cur"))
            fi
            ;;
        rollback)
            case "$prev" in
                --branch | --message) return ;;
            esac
            if [[ "$cur" == -* ]]; then
                COMPREPLY=($(compgen -W "--branch --force --message --detach --json -q --help" -- "$cur"))
            fi
            ;;
        prune)
            COMPREPLY=($(compgen -W "--partials --dry-run --json -q --help" -- "$cur"))
            ;;
        jobs)
            case "$prev" in
                --state)
                    COMPREPLY=($(compgen -W "queued running succeeded failed cancelled timed_out interrupted missed" -- "$cur"))
                    return ;;
                --limit) return ;;
            esac
            COMPREPLY=($(compgen -W "--state --limit --json -q --help" -- "$cur"))
            ;;
        status | cancel | rm)
            if [[ "$cur" == -* ]]; then
                COMPREPLY=($(compgen -W "--json -q --help" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$(_tcctl_ids)" -- "$cur"))
            fi
            ;;
        wait)
            [[ "$prev" == --timeout ]] && return
            if [[ "$cur" == -* ]]; then
                COMPREPLY=($(compgen -W "--timeout --json -q --help" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$(_tcctl_ids)" -- "$cur"))
            fi
            ;;
        logs)
            [[ "$prev" == --since ]] && return
            if [[ "$cur" == -* ]]; then
                COMPREPLY=($(compgen -W "-f --follow --since --json --help" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$(_tcctl_ids)" -- "$cur"))
            fi
            ;;
        plugins)
            if [[ "$prev" == show ]]; then
                COMPREPLY=($(compgen -W "$(_tcctl_plugins)" -- "$cur"))
            elif [[ "$prev" == plugins ]]; then
                COMPREPLY=($(compgen -W "show list --json -q --help" -- "$cur"))
            fi
            ;;
        schedule)
            case "$prev" in
                schedule) COMPREPLY=($(compgen -W "list add rm run-now --json -q --help" -- "$cur")); return ;;
                rm | run-now) COMPREPLY=($(compgen -W "$(_tcctl_schedules)" -- "$cur")); return ;;
                --spec) COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur")); return ;;
                --concurrency) COMPREPLY=($(compgen -W "allow forbid replace" -- "$cur")); return ;;
                --cron | --time-zone | --randomized-delay | --keep-succeeded | --keep-failed | add) return ;;
            esac
            if [[ "$cur" == -* ]]; then
                COMPREPLY=($(compgen -W "--cron --spec --time-zone --persistent --randomized-delay --keep-succeeded --keep-failed --suspend --concurrency --if-changed --json -q --help" -- "$cur"))
            fi
            ;;
        completion)
            [[ "$prev" == completion ]] && COMPREPLY=($(compgen -W "bash" -- "$cur"))
            ;;
        help)
            [[ "$prev" == help ]] && COMPREPLY=($(compgen -W "$commands" -- "$cur"))
            ;;
    esac
}

complete -F _tcctl tcctl
