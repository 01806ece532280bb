// Questions that mark regions of the item: text spans and image boxes (added in later steps).
export const EXTRA_BUILDERS = {};
