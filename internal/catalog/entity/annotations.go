package entity

// Well-known annotations the catalog sets or reads, with Backstage's keys.
const (
	// AnnotationManagedByLocation names the location that emitted the entity.
	AnnotationManagedByLocation = "backstage.io/managed-by-location"
	// AnnotationManagedByOriginLocation names the registered location the
	// entity was first reached from.
	AnnotationManagedByOriginLocation = "backstage.io/managed-by-origin-location"
	// AnnotationSourceLocation points at the source code of the entity.
	AnnotationSourceLocation = "backstage.io/source-location"
	// AnnotationViewURL links to a page showing the entity's definition.
	AnnotationViewURL = "backstage.io/view-url"
	// AnnotationEditURL links to a page editing the entity's definition.
	AnnotationEditURL = "backstage.io/edit-url"
	// AnnotationOrphan marks an entity whose location no longer emits it.
	AnnotationOrphan = "backstage.io/orphan"
)
