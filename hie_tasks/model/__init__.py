"""Values, check results and their JSON form: the data every other layer exchanges."""
