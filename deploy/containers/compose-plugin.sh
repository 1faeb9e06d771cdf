# TODO(compose helper): build the docker compose CLI plugin (deploy/containers/compose-plugin.sh
# from branch fix/compose replaces this placeholder at merge).
