// Package githuborg is the GitHub org entity provider: the teams and
// members of GitHub organizations become Group and User entities, as
// Backstage's GitHub org provider (catalog.providers.githubOrg, the
// GithubMultiOrgEntityProvider of catalog-backend-module-github-org) makes
// them with its default transformers.
//
// Each read asks GitHub's GraphQL API for every configured organization's
// members and teams (parents and immediate members included), builds the
// entities as JSON documents in memory and gives them to the catalog as the
// provider's complete set of sources, so that validation, relations
// (memberOf/hasMember, parentOf/childOf) and the orphan rules apply as to
// any other source. Reads run as jobs: one per schedule slot (replica-safe,
// jittered, as the catalog's own schedule), and one per burst of org
// webhook events (organization, membership, team, installation), which is
// debounced per provider.
//
// It must not speak HTTP to anything but GitHub (through the github client),
// touch the store directly or know about webhook delivery: the webhook
// receiver hands it events through HandleOrgEvent.
package githuborg
