# coturn hosts in one AWS region (call the module once per region with that region's provider).
# AWS NATs public addresses 1:1, so coturn needs external-ip=PUBLIC/PRIVATE: the network
# interface and its Elastic IP are created first, so both addresses are known before boot, and
# other regions can refuse this one's Elastic IP as a peer (output public_ip -> their
# peer_deny_ips) without a dependency cycle: the IP never depends on any instance.
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}

variable "region" {
  description = "TURN region name (as in TURN_POOLS), e.g. us-east."
  type        = string
}

variable "location" {
  type = object({ latitude = number, longitude = number })
}

variable "continents" {
  type    = list(string)
  default = []
}

variable "hostname" {
  type = string
}

variable "realm" {
  type = string
}

variable "secrets" {
  type      = list(string)
  sensitive = true
}

variable "acme_email" {
  type = string
}

variable "subnet_id" {
  description = "A public subnet (with a route to an internet gateway)."
  type        = string
}

variable "instance_type" {
  type    = string
  default = "c7g.large"
}

variable "admin_cidrs" {
  type    = list(string)
  default = []
}

variable "monitoring_cidrs" {
  description = "Private ranges allowed to scrape the Prometheus exporter (9641)."
  type        = list(string)
  default     = []
}

variable "route53_zone_id" {
  description = "Optional: create the A record in this hosted zone."
  type        = string
  default     = null
}

variable "coturn_image" {
  type    = string
  default = "coturn/coturn:4.17.0"
}

variable "peer_deny_ips" {
  description = "The other TURN regions' public addresses (their public_ip outputs), refused as peers: no hops from one of our relays to another."
  type        = list(string)
  default     = []
}

data "aws_subnet" "turn" {
  id = var.subnet_id
}

data "aws_ami" "ubuntu" {
  most_recent = true
  owners      = ["099720109477"] # Canonical
  filter {
    name   = "name"
    values = ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*"]
  }
}

resource "aws_security_group" "turn" {
  name_prefix = "turn-${var.region}-"
  description = "coturn: exactly the TURN ports and relay range"
  vpc_id      = data.aws_subnet.turn.vpc_id

  dynamic "ingress" {
    for_each = module.core.firewall_rules
    content {
      protocol    = ingress.value.protocol
      from_port   = ingress.value.from
      to_port     = ingress.value.to
      cidr_blocks = ["0.0.0.0/0"]
      description = ingress.value.description
    }
  }

  dynamic "ingress" {
    for_each = length(var.admin_cidrs) > 0 ? [1] : []
    content {
      protocol    = "tcp"
      from_port   = 22
      to_port     = 22
      cidr_blocks = var.admin_cidrs
      description = "SSH from admins"
    }
  }

  dynamic "ingress" {
    for_each = length(var.monitoring_cidrs) > 0 ? [1] : []
    content {
      protocol    = "tcp"
      from_port   = 9641
      to_port     = 9641
      cidr_blocks = var.monitoring_cidrs
      description = "Prometheus exporter (private)"
    }
  }

  egress {
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_network_interface" "turn" {
  subnet_id       = var.subnet_id
  security_groups = [aws_security_group.turn.id]
  tags            = { Name = "turn-${var.region}" }
}

resource "aws_eip" "turn" {
  domain            = "vpc"
  network_interface = aws_network_interface.turn.id
  tags              = { Name = "turn-${var.region}" }
}

module "core" {
  source        = "../coturn-core"
  region        = var.region
  location      = var.location
  continents    = var.continents
  hostname      = var.hostname
  realm         = var.realm
  secrets       = var.secrets
  network       = { public_ip = aws_eip.turn.public_ip, private_ip = aws_network_interface.turn.private_ip }
  peer_deny_ips = var.peer_deny_ips
  tls           = { acme_email = var.acme_email }
  coturn_image  = var.coturn_image
  apns_relay    = var.apns_relay
}

resource "aws_instance" "turn" {
  ami           = data.aws_ami.ubuntu.id
  instance_type = var.instance_type
  user_data     = module.core.cloud_init
  # cloud-init runs at first boot only: replace the instance, or new secrets never reach coturn.
  user_data_replace_on_change = true

  network_interface {
    network_interface_id = aws_network_interface.turn.id
    device_index         = 0
  }

  # IMDSv2 only, one hop: the metadata service is exactly what TURN abuse goes after.
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    encrypted   = true
    volume_size = 16
  }

  tags = { Name = "turn-${var.region}" }
}

resource "aws_route53_record" "turn" {
  count   = var.route53_zone_id == null ? 0 : 1
  zone_id = var.route53_zone_id
  name    = var.hostname
  type    = "A"
  ttl     = 300
  records = [aws_eip.turn.public_ip]
}

output "pool" {
  description = "This region's TURN_POOLS entry."
  value       = module.core.pool
}

output "public_ip" {
  description = "The Elastic IP: known before the instance, so other regions can put it in their peer_deny_ips."
  value       = aws_eip.turn.public_ip
}

output "dns_records" {
  description = "The A record to create before the instance finishes booting (certbot retries for 30 minutes); already created with route53_zone_id."
  value       = { (var.hostname) = aws_eip.turn.public_ip }
}
