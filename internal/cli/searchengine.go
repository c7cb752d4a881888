package cli

import (
	"context"
	"log/slog"

	"greenroom/internal/config"
	"greenroom/internal/search"
	"greenroom/internal/search/opensearch"
)

// searchBackend chooses the search engine by configuration: nil (the
// embedded bleve index in the data dir, each replica its own, fed by the
// catalog's change events across replicas) unless search.elasticsearch is
// set, when every replica shares the cluster's index through one alias.
func searchBackend(ctx context.Context, cfg config.Search, logger *slog.Logger) (search.Backend, error) {
	if !cfg.UsesElasticsearch() {
		return nil, nil
	}
	es := cfg.Elasticsearch
	opts := opensearch.Options{
		Provider: es.Provider, Nodes: append([]string(nil), es.Nodes...), CloudID: es.CloudID,
		Username: es.Username, Password: es.Password, APIKey: es.APIKey,
		Region: es.Region, Service: es.Service, IndexPrefix: es.IndexPrefix, BatchSize: es.BatchSize,
		Fuzziness: es.Fuzziness, PrefixLength: es.PrefixLength,
		FragmentSize: es.FragmentSize, NumFragments: es.NumFragments, FragmentDelimiter: es.FragmentDelimiter,
		InsecureSkipVerify: !es.RejectUnauthorized,
		Logger:             logger.With("engine", "opensearch"),
	}
	if es.Provider == "aws" && len(es.Nodes) > 0 {
		signer, err := opensearch.NewAWSSigner(ctx, es.Nodes[0], es.Region, es.Service)
		if err != nil {
			return nil, err
		}
		opts.Signer = signer
	}
	b, err := opensearch.NewBackend(opts)
	if err != nil {
		return nil, err
	}
	logger.Info("search engine", "engine", "opensearch", "alias", b.Alias())
	return b, nil
}
