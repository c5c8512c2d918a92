#!/bin/sh
# The jobs container: deploy/systemd's timers as one loop, woken every minute. Times are UTC
# (02:30 UTC is 10:30 in Asia/Shanghai), so the image needs no time zone data. Unlike the
# timers, a run missed while the container was down is not made up; reconcile, every five
# minutes, is the one that matters, and it catches up by itself.
set -u

job() {
    echo "jobs: flask $*"
    flask "$@" || echo "jobs: flask $* failed (exit $?)" >&2
}

while true; do
    minute=$(date -u +%M)
    minute=${minute#0}
    case "$(date -u +%H:%M)" in
        02:30) job orders bill ;;
        12:00) job shop remind-members ;;
        19:30) job recs rebuild ;;
        20:30) job shop backup ;;
    esac
    if [ $((minute % 5)) -eq 0 ]; then
        job orders reconcile
    fi
    second=$(date -u +%S)
    sleep $((60 - ${second#0}))
done
