# branchline build library: shell functions shared by every phase of templates/buildspec.yml.
# The renderer (infra/build/buildspec.ts) puts the rendered configuration (BL_* variables) in front of
# this text; the install phase writes both to "${TMPDIR:-/tmp}/branchline-build.sh" and every phase
# sources that file, so no phase depends on variables or shell options surviving from another phase.
#
# Repositories and tags (one ECR repository per image: image <name> goes to $REPOSITORY_PREFIX/<name>):
#   source tier (BRANCHLINE_TIER=source, IMAGE_TAG_PREFIX unset or empty)
#     $REPOSITORY_PREFIX/<name>:<sha7> and :latest
#   pull-request tier (BRANCHLINE_TIER=pull-request, IMAGE_TAG_PREFIX=pr-<n>, a clone's build)
#     $REPOSITORY_PREFIX/<name>:pr-<n>-<sha7> and :pr-<n>; never latest
#   A pull-request build without IMAGE_TAG_PREFIX, or a source build with it, fails before docker runs.
#   <sha7>: the first 7 hex digits of CODEBUILD_RESOLVED_SOURCE_VERSION, lower-cased.
#   layer cache: inline, in the images themselves, read back from the image's moving tag in its own
#   repository and, for a pull request build, from $CACHE_REPOSITORY_PREFIX/<name>:latest (the source
#   tier's image: a pull request build reads the source images, it never writes them).
#   second registry: pushed to by the source tier only; a pull request build never logs in to it.
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

# An ECR repository path: lower-case components, each [a-z0-9]+([._-][a-z0-9]+)*, joined by "/".
BL_REPOSITORY_PATH='[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*'

# bl_check_prefix <variable name>: fails unless the variable holds <registry host>/<repository path>.
bl_check_prefix() {
  local value="${!1}"
  if ! [[ "$value" =~ ^[A-Za-z0-9.-]+(:[0-9]+)?/$BL_REPOSITORY_PATH$ ]]; then
    bl_fail "$1='$value' is not a repository prefix (<registry host>/<lower-case repository path>, e.g. <account>.dkr.ecr.<region>.amazonaws.com/<pipeline name>)"
  fi
}

# Validates the environment CodeBuild, the project and the action provide and derives BL_TIER,
# BL_PREFIX, BL_SHA7, BL_ECR_REGISTRY and BL_CACHE_PREFIX. Runs at the start of every phase, so a
# wrong tier fails the install phase, before anything is logged in to or built.
bl_init() {
  BL_TIER="${BRANCHLINE_TIER:-}"
  case "$BL_TIER" in
    source | pull-request) ;;
    "") bl_fail "BRANCHLINE_TIER is not set: the CodeBuild project must set it to 'source' or 'pull-request'" ;;
    *) bl_fail "BRANCHLINE_TIER='$BL_TIER' is neither 'source' nor 'pull-request'" ;;
  esac
  if [ -n "$BL_RENDERED_TIER" ] && [ "$BL_TIER" != "$BL_RENDERED_TIER" ]; then
    bl_fail "this buildspec was rendered for the $BL_RENDERED_TIER tier, but the project sets BRANCHLINE_TIER='$BL_TIER'"
  fi

  BL_PREFIX="$BL_TAG_PREFIX"
  if [ "$BL_TIER" = pull-request ]; then
    if [ -z "$BL_PREFIX" ]; then
      bl_fail "a pull-request tier build needs IMAGE_TAG_PREFIX=pr-<n> (set by the clone's build action); nothing is built without it"
    fi
    if ! [[ "$BL_PREFIX" =~ ^pr-[1-9][0-9]*$ ]]; then
      bl_fail "IMAGE_TAG_PREFIX='$BL_PREFIX' is not pr-<n> (a pull request number without leading zeros)"
    fi
  elif [ -n "$BL_PREFIX" ]; then
    bl_fail "IMAGE_TAG_PREFIX='$BL_PREFIX' is set in a source tier build: a pull request's clone must run in the pull-request tier's build project, never push to the source repositories"
  fi

  if [ -z "${REPOSITORY_PREFIX:-}" ]; then
    bl_fail "REPOSITORY_PREFIX is not set: the CodeBuild project must set it to <account>.dkr.ecr.<region>.amazonaws.com/<prefix> (image <name> goes to \$REPOSITORY_PREFIX/<name>)"
  fi
  bl_check_prefix REPOSITORY_PREFIX
  BL_ECR_REGISTRY="${REPOSITORY_PREFIX%%/*}"

  BL_CACHE_PREFIX="${CACHE_REPOSITORY_PREFIX:-}"
  if [ -n "$BL_CACHE_PREFIX" ]; then
    bl_check_prefix CACHE_REPOSITORY_PREFIX
    if [ "${BL_CACHE_PREFIX%%/*}" != "$BL_ECR_REGISTRY" ]; then
      bl_fail "CACHE_REPOSITORY_PREFIX='$BL_CACHE_PREFIX' is not in the registry of REPOSITORY_PREFIX ($BL_ECR_REGISTRY), the only one the build logs in to"
    fi
  fi
  if [ "$BL_TIER" = source ]; then
    if [ -n "$BL_CACHE_PREFIX" ] && [ "$BL_CACHE_PREFIX" != "$REPOSITORY_PREFIX" ]; then
      bl_fail "CACHE_REPOSITORY_PREFIX='$BL_CACHE_PREFIX' differs from REPOSITORY_PREFIX='$REPOSITORY_PREFIX' in a source tier build (both name the source tier's repositories)"
    fi
  else
    if [ -z "$BL_CACHE_PREFIX" ] && [ "$BL_NO_CACHE" != 1 ]; then
      bl_fail "CACHE_REPOSITORY_PREFIX is not set: the pull-request tier's project must set it to the source tier's repository prefix (the layer cache)"
    fi
    if [ "$BL_CACHE_PREFIX" = "$REPOSITORY_PREFIX" ]; then
      bl_fail "REPOSITORY_PREFIX='$REPOSITORY_PREFIX' is the source tier's (CACHE_REPOSITORY_PREFIX): a pull-request build never pushes to the source repositories"
    fi
    # A pull request build never uses the second registry's credentials, whatever the environment holds.
    unset SECOND_REGISTRY_USERNAME SECOND_REGISTRY_PASSWORD
  fi

  local commit="${CODEBUILD_RESOLVED_SOURCE_VERSION:-}"
  if [ -z "$commit" ]; then
    bl_fail "CODEBUILD_RESOLVED_SOURCE_VERSION is empty: there is no commit id to tag the images with, and the build does not push a mutable tag alone. Start the build from its pipeline (or with a source version)."
  fi
  if ! [[ "$commit" =~ ^[0-9A-Fa-f]{7,64}$ ]]; then
    bl_fail "CODEBUILD_RESOLVED_SOURCE_VERSION='$commit' is not a git commit id (7 to 64 hexadecimal digits expected)"
  fi
  commit="${commit,,}"
  BL_SHA7="${commit:0:7}"

  # An untrusted pull request's clone names the one commit a maintainer approved: any other commit
  # (a push that landed after the approval) is refused before anything of it runs.
  local approved="${BRANCHLINE_APPROVED_SHA:-}"
  if [ -n "$approved" ]; then
    approved="${approved,,}"
    if [ "$BL_TIER" != pull-request ]; then
      bl_fail "BRANCHLINE_APPROVED_SHA is set in a source tier build: only a pull request's clone names an approved commit"
    fi
    if [ "$commit" != "$approved" ]; then
      bl_fail "commit $commit is not the approved commit $approved: a maintainer must approve it (/branchline approve $BL_SHA7) before it is built"
    fi
  fi
}

# bl_tag immutable|moving: prints the tag of that kind (see the scheme above).
bl_tag() {
  if [ -n "$BL_PREFIX" ]; then
    if [ "$1" = immutable ]; then printf '%s-%s' "$BL_PREFIX" "$BL_SHA7"; else printf '%s' "$BL_PREFIX"; fi
  else
    if [ "$1" = immutable ]; then printf '%s' "$BL_SHA7"; else printf 'latest'; fi
  fi
}

# bl_repository <image name>: prints the image's repository in this tier.
bl_repository() {
  printf '%s/%s' "$REPOSITORY_PREFIX" "$1"
}

# bl_uses_second_registry: true when the images go to the second registry too (source tier only).
bl_uses_second_registry() {
  [ -n "$BL_SECOND_REGISTRY" ] && [ "$BL_TIER" = source ]
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

# Logs in to ECR and, when configured and in the source tier, to the second registry. Passwords reach
# docker on stdin only: never as an argument, never echoed.
bl_login() {
  bl_say "$BL_TIER tier: logging in to $BL_ECR_REGISTRY"
  aws ecr get-login-password --region "${AWS_DEFAULT_REGION:?AWS_DEFAULT_REGION is not set}" |
    docker login --username AWS --password-stdin "$BL_ECR_REGISTRY"
  if bl_uses_second_registry; then
    bl_login_second_registry
  elif [ -n "$BL_SECOND_REGISTRY" ]; then
    bl_say "second registry ${BL_SECOND_REGISTRY%%/*}: skipped (pull-request tier: only the source tier pushes there, and a pull request build has no credentials for it)"
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

# Builds and pushes one image (index into the BL_IMAGE_* arrays) to its own repository with both of its
# tags, and in the source tier to the second registry too.
# The builder is Docker's own (the default `docker` driver): no BuildKit container, so nothing is pulled
# anonymously from Docker Hub. The layer cache is inline (--cache-to type=inline, the final stage's
# layers, in the pushed image) and read back (--cache-from type=registry) from the image's moving tag
# in its repository and, for a pull request build, from the source tier's latest.
bl_build_image() {
  local i="$1"
  local name="${BL_IMAGE_NAMES[$i]}"
  local repository immutable moving
  repository="$(bl_repository "$name")"
  immutable="$(bl_tag immutable)"
  moving="$(bl_tag moving)"
  local args=(buildx build --progress=plain --provenance=false --push
    --file "${BL_IMAGE_DOCKERFILES[$i]}"
    --tag "$repository:$immutable" --tag "$repository:$moving")
  if bl_uses_second_registry; then
    local second="$BL_SECOND_REGISTRY/${BL_SECOND_REPOSITORY_NAME:-$name}"
    args+=(--tag "$second:$immutable" --tag "$second:$moving")
  fi
  if [ "$BL_NO_CACHE" = 1 ]; then
    args+=(--no-cache)
  else
    args+=(--cache-from "type=registry,ref=$repository:$moving")
    if [ "$BL_TIER" = pull-request ]; then
      args+=(--cache-from "type=registry,ref=$BL_CACHE_PREFIX/$name:latest")
    fi
    args+=(--cache-to "type=inline")
  fi
  args+=(${BL_BUILD_ARGS[@]+"${BL_BUILD_ARGS[@]}"} "${BL_IMAGE_CONTEXTS[$i]}")
  bl_say "building image '$name' as $repository:$immutable and :$moving"
  docker ${args[@]+"${args[@]}"}
}

bl_build_all() {
  local i
  for i in ${BL_IMAGE_NAMES[@]+"${!BL_IMAGE_NAMES[@]}"}; do
    bl_build_image "$i"
  done
}

# Writes imagedefinitions.json (ECS standard deploy) and, for blue/green, imageDetail.json: each
# container's image in its own repository, with the immutable tag. Every value written was validated
# (container and image names by the renderer, REPOSITORY_PREFIX and the tags by bl_init), so none
# needs JSON escaping.
bl_write_deploy_files() {
  if [ "${CODEBUILD_BUILD_SUCCEEDING:-1}" != 1 ]; then
    bl_fail "the build phase failed: no deploy files are written"
  fi
  local i sep="" definitions="[" immutable
  immutable="$(bl_tag immutable)"
  for i in ${BL_IMAGE_NAMES[@]+"${!BL_IMAGE_NAMES[@]}"}; do
    definitions+="$sep{\"name\":\"${BL_IMAGE_CONTAINERS[$i]}\",\"imageUri\":\"$(bl_repository "${BL_IMAGE_NAMES[$i]}"):$immutable\"}"
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
    printf '{"ImageURI":"%s"}\n' "$(bl_repository "${BL_IMAGE_NAMES[0]}"):$immutable" >imageDetail.json
    bl_say "wrote imageDetail.json"
  fi
}
