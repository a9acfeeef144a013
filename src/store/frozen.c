/* The checksum of a sweep file's frozen metadata (DESIGN.md §12): what labels every cell.
 *
 * A cell's own checksum (scalars.c) proves its numbers intact, but not that they sit under
 * the right coordinates: an edit of /cell/width or /traj/step would mislabel every cell
 * silently. So creation stores, as the root attribute "frozen_checksum", a CRC-32 over, in
 * order: the canonical sweep (with its NUL), then for /cell and then /traj each axis's name
 * (with its NUL), its values as stored (the dataset's bytes in native order) and its labels
 * (each with its NUL), then /traj/step's values. It is computed from the file as written, by
 * the same function that checks it.
 */
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/check.h"
#include "store_impl.h"

static const char *const FROZEN_ATTR = "frozen_checksum";

static uint32_t crc_text(uint32_t crc, const char *text) { return ssw_crc32_update(crc, text, strlen(text) + 1); }

/* The bytes of a whole dataset as read in its native type, then its labels if it has them. */
static int crc_dataset(hid_t group, const char *name, uint32_t *crc) {
  hid_t dset, ftype = -1, mtype = -1, space = -1;
  void *buf = NULL;
  H5_HID(dset, H5Dopen2(group, name, H5P_DEFAULT));
  int rc = (ftype = H5Dget_type(dset)) < 0 ? ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Dget_type") : SSW_OK;
  if (rc == SSW_OK && (mtype = H5Tget_native_type(ftype, H5T_DIR_ASCEND)) < 0)
    rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Tget_native_type");
  if (rc == SSW_OK && (space = H5Dget_space(dset)) < 0) rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Dget_space");
  hssize_t n = rc == SSW_OK ? H5Sget_simple_extent_npoints(space) : 0;
  size_t size = rc == SSW_OK ? H5Tget_size(mtype) : 0;
  if (rc == SSW_OK && (n < 1 || size == 0)) rc = SSW_ERROR(SSW_ERR_IO, "dataset %s is empty or of no size", name);
  if (rc == SSW_OK && !(buf = malloc((size_t)n * size))) rc = SSW_ERROR(SSW_ERR_NOMEM, "out of memory reading %s", name);
  if (rc == SSW_OK && H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
    rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Dread");
  if (rc == SSW_OK) *crc = ssw_crc32_update(*crc, buf, (size_t)n * size);
  free(buf);
  htri_t labelled = rc == SSW_OK ? H5Aexists(dset, "labels") : 0;
  if (labelled < 0) rc = ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Aexists");
  char **labels = labelled > 0 ? calloc((size_t)n, sizeof *labels) : NULL;
  if (labelled > 0 && !labels) rc = SSW_ERROR(SSW_ERR_NOMEM, "out of memory reading the labels of %s", name);
  int count = 0;
  if (labels) rc = ssw_h5_attr_read_strings(dset, "labels", labels, (int)n, &count);
  for (int i = 0; i < count; i++) {
    *crc = crc_text(*crc, labels[i]);
    free(labels[i]);
  }
  free(labels);
  H5_CLOSE_KEEP(rc, H5Sclose, space);
  H5_CLOSE_KEEP(rc, H5Tclose, mtype);
  H5_CLOSE_KEEP(rc, H5Tclose, ftype);
  H5_CLOSE_KEEP(rc, H5Dclose, dset);
  return rc;
}

/* The axes of one group (/cell or /traj), in the order of the root attribute "axes". */
static int crc_axes(hid_t file, const char *group_name, char *const *axes, int naxes, uint32_t *crc) {
  hid_t group;
  H5_HID(group, H5Gopen2(file, group_name, H5P_DEFAULT));
  int rc = SSW_OK;
  for (int i = 0; i < naxes && rc == SSW_OK; i++) {
    *crc = crc_text(*crc, axes[i]);
    rc = crc_dataset(group, axes[i], crc);
  }
  if (rc == SSW_OK && strcmp(group_name, "traj") == 0) rc = crc_dataset(group, "step", crc);
  H5_CLOSE_KEEP(rc, H5Gclose, group);
  return rc;
}

static int frozen_crc(hid_t file, uint32_t *crc) {
  char *canonical = NULL, *axes[SSW_MAX_AXES] = {0};
  int naxes = 0;
  *crc = 0;
  SSW_TRY(ssw_h5_attr_read_string(file, "sweep_canonical", &canonical));
  *crc = crc_text(*crc, canonical);
  free(canonical);
  int rc = ssw_h5_attr_read_strings(file, "axes", axes, SSW_MAX_AXES, &naxes);
  if (rc == SSW_OK) rc = crc_axes(file, "cell", axes, naxes, crc);
  if (rc == SSW_OK) rc = crc_axes(file, "traj", axes, naxes, crc);
  for (int i = 0; i < naxes; i++) free(axes[i]);
  return rc;
}

int ssw_store_write_frozen_checksum(hid_t file) {
  uint32_t crc;
  SSW_TRY(frozen_crc(file, &crc));
  SSW_TRY(ssw_h5_attr_write_int64(file, FROZEN_ATTR, (int64_t)crc));
  return SSW_OK;
}

int ssw_store_check_frozen(ssw_store_t *s, int *state) {
  *state = 0;
  htri_t stored = H5Aexists(s->file, FROZEN_ATTR);
  H5_CHECK(stored);
  if (!stored) return SSW_OK;
  hid_t attr;
  int64_t want = -1;
  H5_HID(attr, H5Aopen(s->file, FROZEN_ATTR, H5P_DEFAULT));
  int rc = H5Aread(attr, H5T_NATIVE_INT64, &want) < 0 ? ssw_h5_fail(__FILE__, __LINE__, __func__, "H5Aread") : SSW_OK;
  H5_CLOSE_KEEP(rc, H5Aclose, attr);
  uint32_t crc = 0;
  if (rc == SSW_OK) rc = frozen_crc(s->file, &crc);
  if (rc == SSW_OK) *state = (int64_t)crc == want ? 1 : -1;
  return rc;
}
