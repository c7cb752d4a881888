// Package catalog is Greenroom's software catalog: Backstage entities read
// from locations, stitched and kept in a Store, and served to every
// transport through Service.
//
// It must not import the store, any transport or any provider; it declares
// the Store it needs and others implement it.
package catalog
