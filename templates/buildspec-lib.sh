# branchline build library: shell functions shared by every phase of templates/buildspec.yml.
# The renderer (infra/build/buildspec.ts) puts the rendered configuration (BL_* variables) in front of
# this text; the install phase writes both to "${TMPDIR:-/tmp}/branchline-build.sh" and every phase
# sources that file, so no phase depends on variables or shell options surviving from another phase.
#
# Tag scheme (one ECR repository per stack, $REPOSITORY_URI):
#   source pipeline (IMAGE_TAG_PREFIX unset or empty)
#     one image:     <sha7>, latest, <name>-<sha7>
#     several:       <name>-<sha7>, <name>-latest
#   (every source image carries <name>-<sha7>: the ECR lifecycle rules keep the newest N of each image
#   by the prefix "<name>-", see registryLifecyclePolicy in infra/policies.ts)
#   clone of a pull request (IMAGE_TAG_PREFIX=pr-<n>)
#     one image:     pr-<n>-<sha7>, pr-<n>
#     several:       pr-<n>-<name>-<sha7>, pr-<n>-<name>
#   layer cache:     inline, in the images themselves (earlier versions wrote buildcache-<name> and
#                    pr-<n>-buildcache-<name>; the lifecycle policy expires those)
# Every tag a clone pushes is exactly pr-<n> or starts with "pr-<n>-", so the pull request cleanup
# (delete pr-<n> and pr-<n>-*) removes all of them and nothing else; a clone never pushes latest.
# Image names may not be "pr", start with "pr-" or start with "buildcache" (the renderer refuses them),
# so no source tag can fall into a pull request's family or collide with a cache tag.
#
# Compatibility: CodeBuild images may ship bash 4.2/4.3, where expanding an empty array with set -u
# aborts ("unbound variable"). Every array expansion is therefore written ${a[@]+"${a[@]}"}.
# Secrets: nothing here may expand a secret into a command's words, because `set -x` prints them;
# bl_login_second_registry turns tracing off while it handles the password.

bl_fail() {
  echo "branchline build: error: $*" >&2
  exit 1
}

bl_say() {
  echo "branchline build: $*"
}

# Validates the environment CodeBuild and the project provide and derives BL_SHA7, BL_PREFIX,
# BL_ECR_REGISTRY and BL_SECOND_REPOSITORY.
bl_init() {
  if [ -z "${REPOSITORY_URI:-}" ]; then
    bl_fail "REPOSITORY_URI is not set: the CodeBuild project must set it to the ECR repository URL (<account>.dkr.ecr.<region>.amazonaws.com/<name>)"
  fi
  if ! [[ "$REPOSITORY_URI" =~ ^[A-Za-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+$ ]]; then
    bl_fail "REPOSITORY_URI='$REPOSITORY_URI' is not a repository URL (<registry host>/<repository name>)"
  fi
  BL_ECR_REGISTRY="${REPOSITORY_URI%%/*}"

  local commit="${CODEBUILD_RESOLVED_SOURCE_VERSION:-}"
  if [ -z "$commit" ]; then
    bl_fail "CODEBUILD_RESOLVED_SOURCE_VERSION is empty: there is no commit id to tag the images with, and the build does not push a mutable tag alone. Start the build from its pipeline (or with a source version)."
  fi
  if ! [[ "$commit" =~ ^[0-9A-Fa-f]{7,64}$ ]]; then
    bl_fail "CODEBUILD_RESOLVED_SOURCE_VERSION='$commit' is not a git commit id (7 to 64 hexadecimal digits expected)"
  fi
  commit="${commit,,}"
  BL_SHA7="${commit:0:7}"

  if [ -n "$BL_TAG_PREFIX" ]; then
    if ! [[ "$BL_TAG_PREFIX" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$ ]] || [ "$BL_TAG_PREFIX" = latest ]; then
      bl_fail "the image tag prefix '$BL_TAG_PREFIX' is not usable in a tag (letters, digits, '_', '.', '-'; at most 64 characters; not 'latest')"
    fi
  fi
  BL_PREFIX="$BL_TAG_PREFIX"

  BL_SECOND_REPOSITORY=""
  if [ -n "$BL_SECOND_REGISTRY" ]; then
    BL_SECOND_REPOSITORY="$BL_SECOND_REGISTRY/${BL_SECOND_REPOSITORY_NAME:-${REPOSITORY_URI##*/}}"
  fi
}

# bl_tag <image name> immutable|moving: prints the tag of that kind (see the scheme above).
bl_tag() {
  local stem=""
  if [ -n "$BL_PREFIX" ]; then stem="$BL_PREFIX-"; fi
  if [ "$BL_MULTI_IMAGE" = 1 ]; then stem="$stem$1-"; fi
  if [ "$2" = immutable ]; then
    printf '%s%s' "$stem" "$BL_SHA7"
  elif [ -n "$BL_PREFIX" ]; then
    printf '%s' "${stem%-}"
  else
    printf '%slatest' "$stem"
  fi
}

# bl_inside_checkout <path>: true when <path> (which exists) resolves, symlinks and ".." followed, to
# the checkout (the current directory) or below it.
bl_inside_checkout() {
  local root resolved
  root="$(realpath -e -- .)" || return 1
  resolved="$(realpath -e -- "$1")" || return 1
  [ "$resolved" = "$root" ] || [ "$root" = / ] || [[ "$resolved" == "$root"/* ]]
}

# Every context directory and Dockerfile must exist and lie inside the checkout (checked on the
# resolved path: a symlink or a "link/.." spelling that leads out of it is refused) before anything is
# logged in to or built.
bl_check_sources() {
  local i name context dockerfile
  for i in ${BL_IMAGE_NAMES[@]+"${!BL_IMAGE_NAMES[@]}"}; do
    name="${BL_IMAGE_NAMES[$i]}"
    context="${BL_IMAGE_CONTEXTS[$i]}"
    dockerfile="${BL_IMAGE_DOCKERFILES[$i]}"
    if [ ! -d "$context" ]; then
      bl_fail "image '$name': the build context directory '$context' does not exist in the repository"
    fi
    if [ ! -f "$dockerfile" ]; then
      bl_fail "image '$name': no Dockerfile at '$dockerfile' (directory '$(dirname -- "$dockerfile")')"
    fi
    if ! bl_inside_checkout "$context"; then
      bl_fail "image '$name': the build context '$context' resolves to '$(realpath -e -- "$context")', outside the checkout '$(realpath -e -- .)'"
    fi
    if ! bl_inside_checkout "$dockerfile"; then
      bl_fail "image '$name': the Dockerfile '$dockerfile' resolves to '$(realpath -e -- "$dockerfile")', outside the checkout '$(realpath -e -- .)'"
    fi
  done
}

# Logs in to ECR and, when configured, to the second registry. Passwords reach docker on stdin only:
# never as an argument, never echoed.
bl_login() {
  bl_say "logging in to $BL_ECR_REGISTRY"
  aws ecr get-login-password --region "${AWS_DEFAULT_REGION:?AWS_DEFAULT_REGION is not set}" |
    docker login --username AWS --password-stdin "$BL_ECR_REGISTRY"
  if [ -n "$BL_SECOND_REGISTRY" ]; then
    bl_login_second_registry
  fi
}

# The password must not reach the trace of `set -x` (or `bash -x`): a test such as
# [ -z "$SECOND_REGISTRY_PASSWORD" ] prints its value there. Tracing is therefore off (silently) while
# this function handles the credentials, and restored afterwards.
bl_login_second_registry() {
  local traced=0
  case "$-" in *x*) traced=1 ;; esac
  { set +x; } 2>/dev/null
  if [ -z "${SECOND_REGISTRY_USERNAME:-}" ] || [ -z "${SECOND_REGISTRY_PASSWORD:-}" ]; then
    bl_fail "SECOND_REGISTRY_USERNAME and SECOND_REGISTRY_PASSWORD must both be set (the secret needs the keys 'username' and 'password')"
  fi
  bl_say "logging in to ${BL_SECOND_REGISTRY%%/*}"
  docker login --username "$SECOND_REGISTRY_USERNAME" --password-stdin "${BL_SECOND_REGISTRY%%/*}" \
    <<<"$SECOND_REGISTRY_PASSWORD"
  if [ "$traced" = 1 ]; then set -x; fi
}

# Builds and pushes one image (index into the BL_IMAGE_* arrays) with both of its tags (a source run
# of a single image adds <name>-<sha7>), to ECR and to the second registry.
# The builder is Docker's own (the default `docker` driver): no BuildKit container, so nothing is pulled
# anonymously from Docker Hub. The layer cache is inline (--cache-to type=inline, the final stage's
# layers, in the pushed image) and read back from the moving tags (--cache-from type=registry).
bl_build_image() {
  local i="$1"
  local name="${BL_IMAGE_NAMES[$i]}"
  local immutable moving source_moving
  immutable="$(bl_tag "$name" immutable)"
  moving="$(bl_tag "$name" moving)"
  source_moving="$(BL_PREFIX="" bl_tag "$name" moving)"
  local args=(buildx build --progress=plain --provenance=false --push
    --file "${BL_IMAGE_DOCKERFILES[$i]}"
    --tag "$REPOSITORY_URI:$immutable" --tag "$REPOSITORY_URI:$moving")
  if [ -z "$BL_PREFIX" ] && [ "$BL_MULTI_IMAGE" != 1 ]; then
    args+=(--tag "$REPOSITORY_URI:$name-$BL_SHA7")
  fi
  if [ -n "$BL_SECOND_REPOSITORY" ]; then
    args+=(--tag "$BL_SECOND_REPOSITORY:$immutable" --tag "$BL_SECOND_REPOSITORY:$moving")
  fi
  if [ "$BL_NO_CACHE" = 1 ]; then
    args+=(--no-cache)
  else
    args+=(--cache-from "type=registry,ref=$REPOSITORY_URI:$moving")
    if [ -n "$BL_PREFIX" ]; then
      args+=(--cache-from "type=registry,ref=$REPOSITORY_URI:$source_moving")
    fi
    args+=(--cache-to "type=inline")
  fi
  args+=(${BL_BUILD_ARGS[@]+"${BL_BUILD_ARGS[@]}"} "${BL_IMAGE_CONTEXTS[$i]}")
  bl_say "building image '$name' as $REPOSITORY_URI:$immutable and :$moving"
  docker ${args[@]+"${args[@]}"}
}

bl_build_all() {
  local i
  for i in ${BL_IMAGE_NAMES[@]+"${!BL_IMAGE_NAMES[@]}"}; do
    bl_build_image "$i"
  done
}

# Writes imagedefinitions.json (ECS standard deploy) and, for blue/green, imageDetail.json. Every value
# written was validated (container names by the renderer, REPOSITORY_URI and tags by bl_init), so none
# needs JSON escaping.
bl_write_deploy_files() {
  if [ "${CODEBUILD_BUILD_SUCCEEDING:-1}" != 1 ]; then
    bl_fail "the build phase failed: no deploy files are written"
  fi
  local i sep="" name definitions="["
  for i in ${BL_IMAGE_NAMES[@]+"${!BL_IMAGE_NAMES[@]}"}; do
    name="${BL_IMAGE_NAMES[$i]}"
    definitions+="$sep{\"name\":\"${BL_IMAGE_CONTAINERS[$i]}\",\"imageUri\":\"$REPOSITORY_URI:$(bl_tag "$name" immutable)\"}"
    sep=","
  done
  definitions+="]"
  local size=$((${#definitions} + 1))
  if [ "$size" -gt "$BL_IMAGE_DEFINITIONS_MAX_BYTES" ]; then
    rm -f imagedefinitions.json
    bl_fail "imagedefinitions.json would be $size bytes; the ECS deploy action accepts at most $BL_IMAGE_DEFINITIONS_MAX_BYTES bytes (100 KB). Build fewer images per pipeline or use shorter container names."
  fi
  printf '%s\n' "$definitions" >imagedefinitions.json
  bl_say "wrote imagedefinitions.json ($size bytes)"
  if [ "$BL_BLUE_GREEN" = 1 ]; then
    printf '{"ImageURI":"%s"}\n' "$REPOSITORY_URI:$(bl_tag "${BL_IMAGE_NAMES[0]}" immutable)" >imageDetail.json
    bl_say "wrote imageDetail.json"
  fi
}
