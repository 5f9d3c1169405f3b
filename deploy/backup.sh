#!/bin/sh
# A backup of eventflow into DEST (default /var/backups/eventflow): the database first (`eventflow backup`:
# SQLite's online backup API or pg_dump, consistent while the app runs), then the photos of
# EVENTFLOW_MEDIA_DIR (rsync: content-addressed files that never change, so only new ones are copied). In that order
# every photo the database copy names is in the photo copy. Database copies older than KEEP_DAYS (14) go.
# Run by eventflow-backup.service with /etc/eventflow/eventflow.env; by hand:
#   set -a; . /etc/eventflow/eventflow.env; set +a; /opt/eventflow/deploy/backup.sh /var/backups/eventflow
set -eu
DEST=${1:-/var/backups/eventflow}
KEEP_DAYS=${KEEP_DAYS:-14}
HERE=$(cd "$(dirname "$0")/.." && pwd)
EVENTFLOW=${EVENTFLOW:-$HERE/.venv/bin/eventflow}
MEDIA=${EVENTFLOW_MEDIA_DIR:-$HERE/instance/media}

mkdir -p "$DEST/database" "$DEST/media"
"$EVENTFLOW" backup "$DEST/database"
if [ -d "$MEDIA" ]; then
  rsync -a "$MEDIA/" "$DEST/media/"
fi
find "$DEST/database" -name 'eventflow-*' -type f -mtime "+$KEEP_DAYS" -delete
echo "photos copied to $DEST/media"
