"""Where messages enter the hub: the MQTT subscriber and the pipeline that stores them."""
