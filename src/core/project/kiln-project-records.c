/* kiln-project-records.c: the plain records KilnProject hands out
 * (image rows and flags). */
#include "config.h"

#include <string.h>

#include "kiln-error.h"
#include "kiln-project-private.h"

/* Records ---------------------------------------------------------------- */

KilnImageRecord *
kiln_image_record_new (const char *path,
                       const char *class_name)
{
  KilnImageRecord *record = g_new0 (KilnImageRecord, 1);

  record->path = g_strdup (path);
  record->class_name = g_strdup (class_name);
  return record;
}

KilnImageRecord *
kiln_image_record_copy (const KilnImageRecord *record)
{
  KilnImageRecord *copy = g_memdup2 (record, sizeof *record);

  copy->path = g_strdup (record->path);
  copy->original_path = g_strdup (record->original_path);
  copy->class_name = g_strdup (record->class_name);
  copy->discard_reason = g_strdup (record->discard_reason);
  copy->sha256 = g_strdup (record->sha256);
  copy->pixel_hash = g_strdup (record->pixel_hash);
  copy->source_url = g_strdup (record->source_url);
  return copy;
}

void
kiln_image_record_free (KilnImageRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->path);
  g_free (record->original_path);
  g_free (record->class_name);
  g_free (record->discard_reason);
  g_free (record->sha256);
  g_free (record->pixel_hash);
  g_free (record->source_url);
  g_free (record);
}

KilnFlag *
kiln_flag_new (gint64      image_id,
               const char *reason,
               const char *detail)
{
  KilnFlag *flag = g_new0 (KilnFlag, 1);

  flag->image_id = image_id;
  flag->reason = g_strdup (reason);
  flag->detail = g_strdup (detail);
  return flag;
}

void
kiln_flag_free (KilnFlag *flag)
{
  if (flag == NULL)
    return;
  g_free (flag->reason);
  g_free (flag->detail);
  g_free (flag);
}
